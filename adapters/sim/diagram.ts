import type { RunRecord } from './run.ts';
import type { Scenario } from './scenario.ts';
import { SERVER_NODE } from './scenario.ts';
import type { TraceEntry } from './trace.ts';

/** Rows drawn at most; a longer trace is cut, and the diagram says so. */
export const DIAGRAM_ROW_COUNT_MAX = 4000;

const ROW_HEIGHT = 18;
const COLUMN_WIDTH = 230;
const LEFT = 90;
const TOP = 110;
const LABEL_LENGTH_MAX = 44;

interface Flight {
  readonly row: number;
  readonly duplicate: boolean;
  readonly size: number;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (character) => `&#${character.codePointAt(0)};`);
}

function cut(text: string): string {
  return text.length > LABEL_LENGTH_MAX ? `${text.slice(0, LABEL_LENGTH_MAX - 1)}…` : text;
}

/** A short label for a user-visible event, as the diagram shows it beside its node. */
export function describeEvent(event: unknown): string {
  if (typeof event !== 'object' || event === null) {
    return String(event);
  }
  const e = event as Record<string, unknown>;
  switch (e.type) {
    case 'welcome':
      return `welcome [${(e.members as string[] | undefined)?.join(', ') ?? ''}]`;
    case 'joined':
      return `joined ${String(e.name)}`;
    case 'message':
      return `${e.self === true ? '✓ ' : ''}${String(e.from)}: ${String(e.text)}`;
    case 'left':
      return `left ${String(e.name)} (${String(e.reason)})`;
    case 'rejected':
      return `rejected: ${String(e.reason)}`;
    case 'closed':
      return `closed: ${String(e.reason)}`;
    case 'error':
      return `error: ${String(e.code)}`;
    case 'member.joined':
      return `#${String(e.roomSeq)} joined ${String(e.name)}`;
    case 'member.left':
      return `#${String(e.roomSeq)} left ${String(e.name)} (${String(e.reason)})`;
    case 'message.received':
      return `#${String(e.roomSeq)} ${String(e.from)}: ${String(e.text)}`;
    case 'message.relayed':
      return `#${String(e.roomSeq)} relayed to ${String(e.recipientCount)}`;
    case 'join.refused':
      return `refused ${String(e.name)}: ${String(e.reason)}`;
    case 'datagram.dropped':
      return `dropped: ${String(e.reason)}`;
    case 'handshake.challenged':
      return 'challenge';
    case 'session.ended':
      return 'session ended';
    default:
      return String(e.type);
  }
}

/** The node columns: the server first, then the clients in plan order, then anything else seen. */
function nodeColumns(scenario: Scenario, entries: readonly TraceEntry[]): Map<string, number> {
  const names = [SERVER_NODE, ...scenario.clients.map((_, index) => `c${index}`)];
  for (const entry of entries) {
    for (const name of entry.kind === 'event' ? [entry.node] : [entry.from, entry.to]) {
      if (!names.includes(name)) {
        names.push(name);
      }
    }
  }
  return new Map(names.map((name, index) => [name, LEFT + 40 + index * COLUMN_WIDTH]));
}

/**
 * The space-time (Lamport) diagram of a run, as SVG: one vertical line per node, an arrow per datagram
 * from its send to its delivery (duplicates dashed orange, drops red and crossed), the events users
 * saw labelled beside their node, and virtual time down the left side. One row per trace entry, so
 * that nothing overlaps however dense the run.
 */
export function renderDiagramSvg(run: RunRecord, title: string): string {
  const all = run.trace.entries;
  const entries = all.slice(0, DIAGRAM_ROW_COUNT_MAX);
  const columns = nodeColumns(run.scenario, entries);
  const width = LEFT + 40 + columns.size * COLUMN_WIDTH;
  const height = TOP + (entries.length + 2) * ROW_HEIGHT + 40;
  const rowY = (row: number) => TOP + row * ROW_HEIGHT;
  const x = (name: string) => columns.get(name) ?? LEFT;
  const parts: string[] = [];
  const pending = new Map<number, Flight[]>();
  let lastTimeLabel = Number.NaN;

  entries.forEach((entry, row) => {
    const y = rowY(row);
    if (entry.t !== lastTimeLabel) {
      lastTimeLabel = entry.t;
      parts.push(`<text class="time" x="${LEFT - 10}" y="${y + 4}">${(entry.t / 1000).toFixed(3)} s</text>`);
    }
    if (entry.kind === 'event') {
      const label = escapeXml(cut(describeEvent(entry.event)));
      const full = escapeXml(JSON.stringify(entry.event));
      const cx = x(entry.node);
      const kind = (entry.event as { type?: string } | null)?.type ?? '';
      parts.push(
        `<g class="event ${escapeXml(kind.replace('.', '-'))}"><title>${full}</title><circle cx="${cx}" cy="${y}" r="4"/><text x="${cx + 8}" y="${y + 4}">${label}</text></g>`,
      );
      return;
    }
    // Paired by the network's send number, so identical datagrams in flight together never cross.
    const key = entry.send;
    if (entry.kind === 'send') {
      pending.set(key, [{ row, duplicate: false, size: entry.size }]);
      return;
    }
    if (entry.kind === 'duplicate') {
      const flights = pending.get(key) ?? [];
      flights.push({ row: flights[0]?.row ?? row, duplicate: true, size: entry.size });
      pending.set(key, flights);
      return;
    }
    const flight = pending.get(key)?.shift();
    const fromRow = flight?.row ?? row;
    const x1 = x(entry.from);
    const y1 = rowY(fromRow);
    const tip = `${entry.from} → ${entry.to}, ${entry.size} B #${entry.hash}, sent ${(
      run.trace.entries[fromRow]?.t ?? entry.t
    ).toFixed(
      0,
    )} ms, ${entry.kind === 'drop' ? `dropped (${entry.reason})` : 'delivered'} ${entry.t.toFixed(0)} ms`;
    if (entry.kind === 'deliver') {
      const cls = flight?.duplicate === true ? 'datagram duplicate' : 'datagram';
      parts.push(
        `<line class="${cls}" x1="${x1}" y1="${y1}" x2="${x(entry.to)}" y2="${y}" marker-end="url(#arrow)"><title>${escapeXml(tip)}</title></line>`,
      );
      return;
    }
    // A drop: the arrow stops short of its destination, at the row where the network lost it, and is
    // crossed out there (three quarters of the way, so it is clear whose line it was heading for).
    const x2 = x1 + (x(entry.to) - x1) * 0.75;
    const y2 = row === fromRow ? y + ROW_HEIGHT / 2 : y;
    parts.push(
      `<g class="drop ${escapeXml(entry.reason ?? '')}"><title>${escapeXml(tip)}</title><line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}"/><path d="M${x2 - 5},${y2 - 5}L${x2 + 5},${y2 + 5}M${x2 - 5},${y2 + 5}L${x2 + 5},${y2 - 5}"/></g>`,
    );
  });

  const heads: string[] = [];
  for (const [name, cx] of columns) {
    const index = Number(name.slice(1));
    const plan = name.startsWith('c') ? run.scenario.clients[index] : undefined;
    const subtitle =
      plan === undefined
        ? name === SERVER_NODE
          ? 'the room'
          : ''
        : `${plan.name}${plan.knowsPassword ? '' : ' (wrong password)'}`;
    heads.push(
      `<line class="node" x1="${cx}" y1="${TOP - 16}" x2="${cx}" y2="${height - 30}"/>`,
      `<text class="node-name" x="${cx}" y="${TOP - 44}">${escapeXml(name)}</text>`,
      `<text class="node-sub" x="${cx}" y="${TOP - 28}">${escapeXml(subtitle)}</text>`,
    );
    const crashedAtMs = plan === undefined ? undefined : run.clients[index]?.crashedAtMs;
    if (crashedAtMs !== undefined) {
      const row = entries.findIndex((entry) => entry.t >= crashedAtMs);
      const cy = rowY(row < 0 ? entries.length : row);
      heads.push(
        `<g class="crash"><title>crashed at ${crashedAtMs} ms</title><rect x="${cx - 30}" y="${cy - 9}" width="60" height="14" rx="3"/><text x="${cx}" y="${cy + 2}">crash</text></g>`,
      );
    }
  }
  const cutNote =
    all.length > entries.length
      ? `<text class="note" x="${LEFT}" y="${height - 10}">… ${all.length - entries.length} more trace entries not drawn</text>`
      : '';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="ui-monospace, Menlo, Consolas, monospace" font-size="11">`,
    `<style>
      .time { fill: #667; text-anchor: end; }
      .node { stroke: #99a; stroke-width: 1.5; }
      .node-name { font-size: 14px; font-weight: bold; text-anchor: middle; fill: #223; }
      .node-sub { text-anchor: middle; fill: #556; }
      .datagram { stroke: #3569c9; stroke-width: 1.2; }
      .datagram.duplicate { stroke: #e08a00; stroke-dasharray: 5 3; }
      .drop line, .drop path { stroke: #d22; stroke-width: 1.4; fill: none; }
      .drop.partition line, .drop.partition path { stroke: #8a2be2; }
      .event circle { fill: #1a7f37; }
      .event text { fill: #123; }
      .event.rejected circle, .event.closed circle, .event.error circle { fill: #d22; }
      .crash rect { fill: #d22; } .crash text { fill: white; text-anchor: middle; font-weight: bold; }
      .title { font-size: 15px; font-weight: bold; fill: #112; }
      .legend { fill: #445; } .note { fill: #a33; }
    </style>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#3569c9"/></marker></defs>',
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text class="title" x="${LEFT}" y="24">${escapeXml(title)}</text>`,
    `<text class="legend" x="${LEFT}" y="44">blue arrow: datagram delivered · orange dashed: duplicate · red ×: lost · purple ×: blocked by a partition · green dot: what a user saw</text>`,
    ...heads,
    ...parts,
    cutNote,
    '</svg>',
  ].join('\n');
}

/** The same diagram in an HTML page, with the scenario and the violations (if any) above it. */
export function renderDiagramHtml(run: RunRecord, title: string, violations: readonly string[]): string {
  const list =
    violations.length === 0
      ? '<p class="ok">Every guarantee held in this run.</p>'
      : `<ul class="bad">${violations.map((violation) => `<li>${escapeXml(violation)}</li>`).join('')}</ul>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:1.5rem;color:#112} .ok{color:#1a7f37} .bad{color:#b11}
details{margin:.5rem 0 1rem} pre{white-space:pre-wrap;font-size:12px;background:#f4f4f8;padding:.6rem}</style></head>
<body><h1>${escapeXml(title)}</h1>${list}
<details><summary>Scenario</summary><pre>${escapeXml(JSON.stringify(run.scenario, null, 1))}</pre></details>
${renderDiagramSvg(run, title)}
</body></html>
`;
}
