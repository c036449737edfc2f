// Line charts in SVG from the server's sample ring (`X_details.samples`), drawn by hand: a
// y axis from 0 to a round maximum, time along x, one line per series, a legend with the latest
// values. The <svg> has role="img" and a label naming each series' latest value (screen readers,
// and the browser tests read it); each line carries data-series, data-last and data-count.
import { h, s } from './dom.js';
import { clock, num, short } from './format.js';

/** The drawing's size in user units; a `wide` chart (alone on its row) is wider, so its text keeps its size. */
const NORMAL = { width: 480, height: 180 };
const WIDE = { width: 1000, height: 220 };
const PAD = { left: 40, right: 10, top: 10, bottom: 24 };

/** The `samples` of an `X_details` (newest first) as points oldest first. */
export function samplePoints(details) {
  const samples = details?.samples ?? [];
  return samples.map((p) => ({ t: p.timestamp, v: p.sample })).reverse();
}

/** Per-second rates between consecutive samples of a counter. */
export function ratePoints(details) {
  const points = samplePoints(details);
  const out = [];
  for (let i = 1; i < points.length; i++) {
    const dt = (points[i].t - points[i - 1].t) / 1000;
    if (dt > 0) out.push({ t: points[i].t, v: Math.max(0, (points[i].v - points[i - 1].v) / dt) });
  }
  return out;
}

/** A round tick step (1, 2 or 5 × 10^n) giving at most 5 intervals up to `value`, and the axis top. */
function niceScale(value) {
  if (value <= 0) return { step: 0.5, top: 1 };
  const rough = value / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough);
  return { step, top: step * Math.ceil(value / step) };
}

/**
 * A chart: lineChart({ title, series: [{ name, label, points: [{t, v}] }], format, wide }).
 * Series are coloured by position (CSS classes series-0 …).
 */
export function lineChart({ title, series, format = num, id, wide = false }) {
  const { width: WIDTH, height: HEIGHT } = wide ? WIDE : NORMAL;
  const all = series.flatMap((sr) => sr.points);
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const label = `${title}: ${series
    .map((sr) => `${sr.label} ${format(sr.points.at(-1)?.v ?? 0)}`)
    .join(', ')}`;
  const svg = s('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: 'img',
    'aria-label': label,
    class: 'chart-svg',
  });
  const tMin = all.length ? Math.min(...all.map((p) => p.t)) : 0;
  const tMax = all.length ? Math.max(...all.map((p) => p.t)) : 1;
  const { step, top: yMax } = niceScale(all.length ? Math.max(...all.map((p) => p.v)) : 0);
  const x = (t) => PAD.left + (tMax === tMin ? innerW : ((t - tMin) / (tMax - tMin)) * innerW);
  const y = (v) => PAD.top + innerH - (v / yMax) * innerH;

  for (let v = 0; v <= yMax + step / 2; v += step) {
    svg.appendChild(s('line', { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(v), y2: y(v), class: 'grid' }));
    svg.appendChild(s('text', { x: PAD.left - 6, y: y(v) + 4, class: 'axis y' }, short(v)));
  }
  if (all.length) {
    const ticks = tMax === tMin ? [tMax] : [tMin, tMin + (tMax - tMin) / 2, tMax];
    ticks.forEach((t, i) => {
      const anchor = ticks.length === 1 ? 'end' : ['start', 'middle', 'end'][i];
      svg.appendChild(
        s('text', { x: x(t), y: HEIGHT - 6, class: 'axis x', 'text-anchor': anchor }, clock(t)),
      );
    });
  } else {
    svg.appendChild(
      s('text', { x: WIDTH / 2, y: HEIGHT / 2, class: 'empty', 'text-anchor': 'middle' }, 'No samples yet'),
    );
  }
  series.forEach((sr, i) => {
    const last = sr.points.at(-1)?.v ?? 0;
    const data = { series: sr.name, last: String(last), count: String(sr.points.length) };
    if (sr.points.length === 1) {
      const p = sr.points[0];
      svg.appendChild(
        s('circle', { cx: x(p.t), cy: y(p.v), r: 3, class: `line series-${i}`, dataset: data }),
      );
      return;
    }
    const d = sr.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`);
    svg.appendChild(s('path', { d: d.join(' ') || 'M0,0', class: `line series-${i}`, dataset: data }));
  });
  const legend = h(
    'ul',
    { class: 'legend' },
    series.map((sr, i) =>
      h(
        'li',
        null,
        h('span', { class: `swatch series-${i}`, 'aria-hidden': 'true' }),
        `${sr.label} `,
        h('strong', null, format(sr.points.at(-1)?.v ?? 0)),
      ),
    ),
  );
  return h('figure', { class: 'chart', id }, h('figcaption', null, title), svg, legend);
}
