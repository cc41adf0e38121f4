// /tasks ("my tasks"): the tasks the signed-in person is accountable for — given to them,
// or to an organisation they belong to — with status, deadline, the overdue marker, status
// changes and progress notes. `?filter=overdue` shows only the overdue ones. The list
// follows the live channel (a new task, a change, the daily overdue reminder).
import { useTitle } from '../components';
import { useI18n, type MessageKey } from '../i18n';
import { navigate, useLocation } from '../router';
import { useSession } from '../session';
import { isAssignee } from '../tasks';
import { TaskList, useTasks } from '../taskviews';

type Filter = 'all' | 'overdue';
const FILTERS: readonly Filter[] = ['all', 'overdue'];

export function TasksPage() {
  const { t } = useI18n();
  const { session } = useSession();
  const loc = useLocation();
  const filter: Filter = loc.query.get('filter') === 'overdue' ? 'overdue' : 'all';
  const principal = session.kind === 'signed-in' ? session.principal : null;
  const tasks = useTasks({ mine: true, overdueOnly: filter === 'overdue' }, (task) => isAssignee(task, principal) && (filter === 'all' || task.overdue));
  useTitle(t('tasks.title'));

  const go = (f: Filter) => navigate(f === 'all' ? '/tasks' : '/tasks?filter=overdue', { replace: true });
  const open = tasks.tasks?.filter((x) => x.status === 'TASK_STATUS_OPEN' || x.status === 'TASK_STATUS_IN_PROGRESS').length ?? 0;
  const overdue = tasks.tasks?.filter((x) => x.overdue).length ?? 0;

  return (
    <section aria-labelledby="tasks-title" data-testid="tasks-page" data-filter={filter}>
      <h1 id="tasks-title" class="page-title">
        {t('tasks.title')}
      </h1>
      {tasks.tasks !== null && (
        <p class="tasks-summary" data-testid="tasks-summary">
          {t('tasks.summary', { open })}
          {overdue > 0 && ` · ${t('tasks.summaryOverdue', { n: overdue })}`}
        </p>
      )}
      <div
        class="tabs"
        role="tablist"
        aria-label={t('tasks.filter')}
        onKeyDown={(e) => {
          const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
          if (step === 0) return;
          const f = FILTERS[(FILTERS.indexOf(filter) + step + FILTERS.length) % FILTERS.length];
          go(f);
          document.getElementById(`filter-${f}`)?.focus();
        }}
      >
        {FILTERS.map((f) => (
          <button
            type="button"
            role="tab"
            key={f}
            id={`filter-${f}`}
            class="tab"
            aria-selected={f === filter}
            tabIndex={f === filter ? 0 : -1}
            aria-controls="task-list"
            data-filter={f}
            onClick={() => go(f)}
          >
            {t(`tasks.filter.${f}` as MessageKey)}
          </button>
        ))}
      </div>
      <div id="task-list" role="tabpanel" aria-labelledby={`filter-${filter}`}>
        <TaskList
          model={tasks}
          principal={principal}
          runner={false}
          showMeeting
          empty={filter === 'overdue' ? t('tasks.emptyOverdue') : t('tasks.empty')}
          testid="my-tasks"
        />
      </div>
    </section>
  );
}
