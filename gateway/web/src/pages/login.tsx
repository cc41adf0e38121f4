import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api';
import { ProblemBox, useTitle } from '../components';
import { useI18n } from '../i18n';
import { navigate, safeNext, useLocation } from '../router';
import { useSession } from '../session';

export function LoginPage() {
  const { t } = useI18n();
  const { session, login } = useSession();
  const loc = useLocation();
  const next = safeNext(loc.query.get('next'));
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState('');
  const [error, setError] = useState<unknown>(null);
  useTitle(t('login.title'));

  // Signed in (just now, or already when the page opened): go where the user was headed.
  useEffect(() => {
    if (session.kind === 'signed-in') navigate(next, { replace: true });
  }, [session.kind, next]);

  async function submit(e: Event) {
    e.preventDefault();
    setMessage('');
    setError(null);
    if (username.trim() === '' || password === '') {
      setMessage(t('login.needBoth'));
      return;
    }
    setBusy(true);
    try {
      await login(username.trim(), password);
    } catch (err) {
      setPassword('');
      // One message for a wrong username and a wrong password alike: the page must not
      // tell which accounts exist (the server does not either).
      if (err instanceof ApiError && err.status === 401) setMessage(t('login.failed'));
      else setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="login" aria-labelledby="login-title">
      <h1 id="login-title" class="page-title">
        {t('login.title')}
      </h1>
      <p class="hint">{t('login.intro')}</p>
      <form class="form" onSubmit={submit} noValidate data-testid="login-form">
        <label class="field">
          <span class="field-label">{t('field.username')}</span>
          <input
            name="username"
            autocomplete="username"
            autocapitalize="none"
            spellcheck={false}
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
            required
          />
        </label>
        <label class="field">
          <span class="field-label">{t('field.password')}</span>
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            required
          />
        </label>
        {message && (
          <p class="problem problem-title" role="alert" data-testid="login-error">
            {message}
          </p>
        )}
        <ProblemBox error={error} testid="login-problem" />
        <button type="submit" class="button button--primary" disabled={busy} data-testid="login-submit">
          {busy ? t('common.working') : t('login.submit')}
        </button>
      </form>
    </section>
  );
}
