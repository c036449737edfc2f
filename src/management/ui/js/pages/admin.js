// Administration: users, virtual hosts, permissions, policies, definitions export and import.
import { api, enc } from '../api.js';
import { actionForm, confirmAction, notice, pageHeader, section, toast } from '../components.js';
import { field, h, replace, select } from '../dom.js';
import { listView } from './list.js';

const TABS = [
  ['users', 'Users'],
  ['vhosts', 'Virtual hosts'],
  ['permissions', 'Permissions'],
  ['policies', 'Policies'],
  ['definitions', 'Definitions'],
];

function subnav(current) {
  return h(
    'nav',
    { class: 'subnav', 'aria-label': 'Admin sections' },
    TABS.map(([key, label]) =>
      h('a', { href: `#/admin/${key}`, 'aria-current': key === current ? 'page' : undefined }, label),
    ),
  );
}

function deleteButton(label, what, run, reload) {
  return h(
    'button',
    {
      type: 'button',
      class: 'secondary small',
      'aria-label': label,
      onclick: async () => {
        if (
          !(await confirmAction({
            title: `${label}?`,
            message: `${label}: ${what}?`,
            confirmLabel: 'Delete',
          }))
        )
          return;
        try {
          await run();
          toast(`${label}: done`);
        } catch (error) {
          toast(error.message, 'error');
        }
        reload();
      },
    },
    'Delete',
  );
}

function adminShell(view, tab, title, subtitle) {
  view.append(pageHeader(title, subtitle), subnav(tab));
}

async function usersPage(view, _params, ctx) {
  adminShell(view, 'users', 'Users', 'Users of AMQP, Kafka (SASL) and this API; tags grant API access');
  const list = h('div');
  const { reload, ready } = listView(list, ctx, {
    path: '/api/users',
    columns: [
      { key: 'name', label: 'Name' },
      { key: 'tags', label: 'Tags', value: (u) => u.tags.join(', ') || '–' },
      {
        key: 'actions',
        label: 'Actions',
        sort: false,
        value: (u) =>
          deleteButton(
            `Delete user ${u.name}`,
            u.name,
            () => api('DELETE', `/api/users/${enc(u.name)}`),
            () => reload(),
          ),
      },
    ],
  });
  const form = actionForm({
    label: 'Add or update a user',
    submitLabel: 'Save user',
    fields: [
      field('Name', h('input', { name: 'name', required: true, autocomplete: 'off' })),
      field(
        'Password',
        h('input', { name: 'password', type: 'password', autocomplete: 'new-password' }),
        'Leave empty to keep it.',
      ),
      field('Tags', h('input', { name: 'tags', placeholder: 'administrator, monitoring' })),
    ],
    action: async (data) => {
      const body = { tags: String(data.get('tags') ?? '') };
      if (data.get('password')) body.password = data.get('password');
      await api('PUT', `/api/users/${enc(data.get('name'))}`, body);
      await reload();
      return `User ${data.get('name')} saved.`;
    },
  });
  view.append(list, section('Add or update a user', form));
  await ready;
}

async function vhostsPage(view, _params, ctx) {
  adminShell(view, 'vhosts', 'Virtual hosts', 'AMQP virtual hosts (Kafka and SQS live in /)');
  const list = h('div');
  const { reload, ready } = listView(list, ctx, {
    path: '/api/vhosts',
    columns: [
      { key: 'name', label: 'Name' },
      { key: 'description', label: 'Description', value: (v) => v.description || '–' },
      {
        key: 'actions',
        label: 'Actions',
        sort: false,
        value: (v) =>
          v.name === '/'
            ? ''
            : deleteButton(
                `Delete virtual host ${v.name}`,
                v.name,
                () => api('DELETE', `/api/vhosts/${enc(v.name)}`),
                () => reload(),
              ),
      },
    ],
  });
  const form = actionForm({
    label: 'Add a virtual host',
    submitLabel: 'Add virtual host',
    fields: [
      field('Name', h('input', { name: 'name', required: true })),
      field('Description', h('input', { name: 'description' })),
    ],
    action: async (data) => {
      await api('PUT', `/api/vhosts/${enc(data.get('name'))}`, {
        description: String(data.get('description') ?? ''),
      });
      await reload();
      return `Virtual host ${data.get('name')} added.`;
    },
  });
  view.append(list, section('Add a virtual host', form));
  await ready;
}

async function permissionsPage(view, _params, ctx) {
  adminShell(
    view,
    'permissions',
    'Permissions',
    'Configure, write and read patterns per user and virtual host',
  );
  const [users, vhosts] = await Promise.all([api('GET', '/api/users'), api('GET', '/api/vhosts')]);
  const list = h('div');
  const { reload, ready } = listView(list, ctx, {
    path: '/api/permissions',
    nameOf: (p) => `${p.user} ${p.vhost}`,
    filterLabel: 'Filter by user or virtual host',
    sort: { key: 'user', reverse: false },
    columns: [
      { key: 'user', label: 'User' },
      { key: 'vhost', label: 'Virtual host' },
      { key: 'configure', label: 'Configure', value: (p) => h('code', null, p.configure) },
      { key: 'write', label: 'Write', value: (p) => h('code', null, p.write) },
      { key: 'read', label: 'Read', value: (p) => h('code', null, p.read) },
      {
        key: 'actions',
        label: 'Actions',
        sort: false,
        value: (p) =>
          deleteButton(
            `Delete permissions of ${p.user}`,
            `${p.user} in ${p.vhost}`,
            () => api('DELETE', `/api/permissions/${enc(p.vhost)}/${enc(p.user)}`),
            () => reload(),
          ),
      },
    ],
  });
  const form = actionForm({
    label: 'Set permissions',
    submitLabel: 'Set permissions',
    fields: [
      field(
        'User',
        select(
          { name: 'user' },
          users.map((u) => u.name),
        ),
      ),
      field(
        'Virtual host',
        select(
          { name: 'vhost' },
          vhosts.map((v) => v.name),
          '/',
        ),
      ),
      field('Configure', h('input', { name: 'configure', value: '.*' })),
      field('Write', h('input', { name: 'write', value: '.*' })),
      field('Read', h('input', { name: 'read', value: '.*' })),
    ],
    action: async (data) => {
      await api('PUT', `/api/permissions/${enc(data.get('vhost'))}/${enc(data.get('user'))}`, {
        configure: data.get('configure'),
        write: data.get('write'),
        read: data.get('read'),
      });
      await reload();
      return 'Permissions set.';
    },
  });
  view.append(list, section('Set permissions', form));
  await ready;
}

async function policiesPage(view, _params, ctx) {
  adminShell(view, 'policies', 'Policies', 'Pattern-matched settings for queues and exchanges');
  const vhosts = await api('GET', '/api/vhosts');
  const list = h('div');
  const { reload, ready } = listView(list, ctx, {
    path: '/api/policies',
    columns: [
      { key: 'name', label: 'Name' },
      { key: 'vhost', label: 'Virtual host' },
      { key: 'pattern', label: 'Pattern', value: (p) => h('code', null, p.pattern) },
      { key: 'apply-to', label: 'Apply to' },
      { key: 'priority', label: 'Priority', numeric: true },
      {
        key: 'definition',
        label: 'Definition',
        sort: false,
        value: (p) => h('code', null, JSON.stringify(p.definition)),
      },
      {
        key: 'actions',
        label: 'Actions',
        sort: false,
        value: (p) =>
          deleteButton(
            `Delete policy ${p.name}`,
            p.name,
            () => api('DELETE', `/api/policies/${enc(p.vhost)}/${enc(p.name)}`),
            () => reload(),
          ),
      },
    ],
  });
  const form = actionForm({
    label: 'Add or update a policy',
    submitLabel: 'Save policy',
    fields: [
      field(
        'Virtual host',
        select(
          { name: 'vhost' },
          vhosts.map((v) => v.name),
          '/',
        ),
      ),
      field('Name', h('input', { name: 'name', required: true })),
      field('Pattern', h('input', { name: 'pattern', required: true, placeholder: '^orders\\.' })),
      field('Apply to', select({ name: 'apply-to' }, ['queues', 'exchanges', 'all'], 'queues')),
      field('Priority', h('input', { name: 'priority', type: 'number', value: '0' })),
      field(
        'Definition (JSON)',
        h('input', { name: 'definition', required: true, placeholder: '{"max-length": 1000}' }),
      ),
    ],
    action: async (data) => {
      let definition;
      try {
        definition = JSON.parse(String(data.get('definition')));
      } catch {
        throw new Error('Definition must be a JSON object, e.g. {"max-length": 1000}.');
      }
      await api('PUT', `/api/policies/${enc(data.get('vhost'))}/${enc(data.get('name'))}`, {
        pattern: data.get('pattern'),
        'apply-to': data.get('apply-to'),
        priority: Number(data.get('priority')),
        definition,
      });
      await reload();
      return `Policy ${data.get('name')} saved.`;
    },
  });
  view.append(list, section('Add or update a policy', form));
  await ready;
}

async function definitionsPage(view) {
  adminShell(
    view,
    'definitions',
    'Definitions',
    'Users, virtual hosts, permissions, policies, queues, exchanges and bindings in RabbitMQ’s format',
  );
  const vhosts = await api('GET', '/api/vhosts');
  const vhostOptions = [['', 'Whole broker'], ...vhosts.map((v) => [v.name, `Virtual host ${v.name}`])];
  const download = h('div');
  const exportForm = actionForm({
    label: 'Export definitions',
    submitLabel: 'Export',
    fields: [field('Scope', select({ name: 'vhost' }, vhostOptions, ''))],
    action: async (data) => {
      const vhost = String(data.get('vhost'));
      const defs = await api('GET', vhost ? `/api/definitions/${enc(vhost)}` : '/api/definitions');
      const blob = new Blob([JSON.stringify(defs, null, 2)], { type: 'application/json' });
      const url = URL.createObjectURL(blob);
      const fileName = `pier-definitions${vhost ? `-${vhost.replace(/[^\w.-]+/g, '_')}` : ''}.json`;
      const a = h('a', { href: url, download: fileName, class: 'button-link' }, `Download ${fileName}`);
      replace(download, a);
      a.click();
      const counts = ['users', 'vhosts', 'queues', 'exchanges', 'bindings', 'policies']
        .filter((k) => Array.isArray(defs[k]))
        .map((k) => `${defs[k].length} ${k}`)
        .join(', ');
      return `Exported ${counts}.`;
    },
  });
  const importForm = actionForm({
    label: 'Import definitions',
    submitLabel: 'Import',
    fields: [
      field('Scope', select({ name: 'vhost' }, vhostOptions, '')),
      field(
        'File',
        h('input', { name: 'file', type: 'file', accept: 'application/json,.json', required: true }),
      ),
    ],
    action: async (data) => {
      const file = data.get('file');
      if (!(file instanceof File) || file.size === 0) throw new Error('Choose a definitions file (JSON).');
      let defs;
      try {
        defs = JSON.parse(await file.text());
      } catch {
        throw new Error(`${file.name} is not valid JSON.`);
      }
      const vhost = String(data.get('vhost'));
      await api('POST', vhost ? `/api/definitions/${enc(vhost)}` : '/api/definitions', defs);
      return `Imported ${file.name}: all objects applied (an import is all or nothing).`;
    },
  });
  view.append(
    h(
      'div',
      { class: 'grid-2' },
      section('Export', exportForm, download),
      section(
        'Import',
        notice(
          'info',
          'A file exported from RabbitMQ 3.10 or from Pier. Nothing is applied if any object is invalid.',
        ),
        importForm,
      ),
    ),
  );
}

export const adminPages = [
  ['admin', usersPage],
  ['admin/users', usersPage],
  ['admin/vhosts', vhostsPage],
  ['admin/permissions', permissionsPage],
  ['admin/policies', policiesPage],
  ['admin/definitions', definitionsPage],
];
