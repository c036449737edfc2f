// The UI's shell: login, navigation, hash routes (#/queues/%2F/orders) and the refresh timer.
// A page is a function (view, params, ctx) that draws into `view` and may register refreshers
// with ctx.refresh(fn); they run on the chosen interval until the route changes.
import { api, credentials, forgetCredentials, saveCredentials, setUnauthorizedHandler } from './api.js';
import { notice } from './components.js';
import { field, h, replace } from './dom.js';
import { adminPages } from './pages/admin.js';
import { connectionPages } from './pages/connections.js';
import { exchangePages } from './pages/exchanges.js';
import { kafkaPages } from './pages/kafka.js';
import { overviewPage } from './pages/overview.js';
import { queuePages } from './pages/queues.js';
import { sqsPages } from './pages/sqs.js';

const ROUTES = [
  ['', overviewPage],
  ...connectionPages,
  ...exchangePages,
  ...queuePages,
  ...kafkaPages,
  ...sqsPages,
  ...adminPages,
].map(([pattern, page]) => [new RegExp(`^${pattern}$`), page]);

const NAV = [
  ['#/', 'Overview', ''],
  ['#/connections', 'Connections', 'connections'],
  ['#/channels', 'Channels', 'channels'],
  ['#/exchanges', 'Exchanges', 'exchanges'],
  ['#/queues', 'Queues', 'queues'],
  ['#/kafka/topics', 'Kafka topics', 'kafka/topics'],
  ['#/kafka/groups', 'Kafka groups', 'kafka/groups'],
  ['#/sqs', 'SQS', 'sqs'],
  ['#/admin/users', 'Admin', 'admin'],
];

const REFRESH_KEY = 'pier.refreshMs';
let refreshers = [];
let timer;
let generation = 0;
let whoami;

const main = () => document.getElementById('main');

function currentPath() {
  return location.hash.replace(/^#\/?/, '').replace(/\/$/, '');
}

function drawNav(path) {
  const nav = document.getElementById('nav');
  replace(
    nav,
    h(
      'ul',
      null,
      NAV.map(([href, label, prefix]) => {
        const active = prefix === '' ? path === '' : path === prefix || path.startsWith(`${prefix}/`);
        return h('li', null, h('a', { href, 'aria-current': active ? 'page' : undefined }, label));
      }),
    ),
  );
}

async function route() {
  const gen = ++generation;
  refreshers = [];
  const path = currentPath();
  if (!credentials()) return showLogin();
  if (!whoami) {
    try {
      whoami = await api('GET', '/api/whoami');
    } catch (error) {
      if (error.status === 401) return showLogin(error.reason);
      throw error;
    }
  }
  showSession();
  drawNav(path);
  const view = h('div', { class: 'page' });
  replace(main(), view);
  const match = ROUTES.map(([re, page]) => [re.exec(path), page]).find(([m]) => m);
  if (!match) {
    replace(view, h('h1', null, 'Not found'), notice('error', `No page at #/${path}.`));
    return;
  }
  const [m, page] = match;
  const params = m.slice(1).map((p) => decodeURIComponent(p));
  const ctx = {
    user: whoami,
    refresh: (fn) => {
      if (gen === generation) refreshers.push(fn);
    },
    isCurrent: () => gen === generation,
  };
  try {
    await page(view, params, ctx);
  } catch (error) {
    if (gen === generation) replace(view, h('h1', null, 'Error'), notice('error', error.message));
  }
}

let refreshing = false;
async function tick() {
  if (refreshing || document.hidden) return;
  refreshing = true;
  const gen = generation;
  try {
    for (const fn of refreshers) {
      if (gen !== generation) break;
      await fn().catch(() => {});
    }
  } finally {
    refreshing = false;
  }
}

function startTimer() {
  clearInterval(timer);
  const ms = Number(localStorage.getItem(REFRESH_KEY) ?? 5000);
  document.getElementById('refresh').value = String(ms);
  if (ms > 0) timer = setInterval(tick, ms);
}

function showSession() {
  document.getElementById('session').hidden = false;
  document.getElementById('nav').hidden = false;
  document.getElementById('user').textContent = `${whoami.name} (${whoami.tags.join(', ') || 'no tags'})`;
}

function showLogin(reason) {
  whoami = undefined;
  document.getElementById('session').hidden = true;
  document.getElementById('nav').hidden = true;
  const user = h('input', { name: 'username', autocomplete: 'username', required: true, value: '' });
  const password = h('input', {
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const output = h('div', { 'aria-live': 'polite' }, reason ? notice('error', reason) : null);
  const form = h(
    'form',
    {
      class: 'login card',
      'aria-labelledby': 'login-title',
      onsubmit: async (event) => {
        event.preventDefault();
        saveCredentials(user.value, password.value);
        try {
          whoami = await api('GET', '/api/whoami');
        } catch (error) {
          forgetCredentials();
          replace(
            output,
            notice('error', error.status === 401 ? `Login failed: ${error.reason}` : error.message),
          );
          return;
        }
        route();
      },
    },
    h('h1', { id: 'login-title' }, 'Log in to Pier'),
    h(
      'p',
      { class: 'subtitle' },
      'Use a user with a management, monitoring, policymaker or administrator tag.',
    ),
    field('Username', user),
    field('Password', password),
    h('button', { type: 'submit', class: 'primary' }, 'Log in'),
    output,
  );
  replace(main(), h('div', { class: 'login-wrap' }, form));
  user.focus();
}

setUnauthorizedHandler(() => {
  forgetCredentials();
  showLogin('Your session has ended: log in again.');
});

document.getElementById('logout').addEventListener('click', () => {
  forgetCredentials();
  whoami = undefined;
  location.hash = '#/';
  showLogin();
});
document.getElementById('refresh').addEventListener('change', (event) => {
  localStorage.setItem(REFRESH_KEY, event.target.value);
  startTimer();
});
window.addEventListener('hashchange', () => {
  route().then(() => main().focus({ preventScroll: true }));
});
startTimer();
route();
