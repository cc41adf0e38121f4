import { render } from 'preact';
import { App } from './app';
import { registerOffline } from './offline';
import './styles.css';

const root = document.getElementById('app');
if (root) render(<App />, root);
registerOffline();
