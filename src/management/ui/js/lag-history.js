// Kafka consumer lag over time. The API gives each group's lag now; the UI keeps the values it
// has seen (one point per refresh, the last 120 per group) in sessionStorage, so a group's lag
// chart fills while any page that reads groups is open.

const KEY = 'pier.kafkaLag';
const MAX_POINTS = 120;

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? '{}');
  } catch {
    return {};
  }
}

/** Records each group's lag now; returns the history by group id. */
export function recordLag(groups, nowMs = Date.now()) {
  const history = load();
  for (const g of groups) {
    const points = history[g.group_id] ?? [];
    points.push({ t: nowMs, v: g.lag });
    history[g.group_id] = points.slice(-MAX_POINTS);
  }
  sessionStorage.setItem(KEY, JSON.stringify(history));
  return history;
}

/** The points for one group, or for one of its partitions' lags summed (`pick`). */
export function lagHistory(groupId) {
  return load()[groupId] ?? [];
}
