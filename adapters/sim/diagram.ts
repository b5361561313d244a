import { laneHeadings } from './diagram-lanes.ts';
import { describeEvent } from './event-label.ts';
import type { RunRecord } from './run.ts';
import { clientNodeName, type Scenario, SERVER_NODE } from './scenario.ts';
import type { DatagramTraceEntry, EventTraceEntry, TraceEntry } from './trace.ts';

/** Rows drawn at most; a longer trace is cut, and the diagram says so. */
export const DIAGRAM_ROW_COUNT_MAX = 4000;

const ROW_HEIGHT = 18;
const COLUMN_WIDTH = 230;
const LEFT = 90;
const TOP = 124;
const LABEL_LENGTH_MAX = 44;
/** The class of the arrows of datagrams that carry only ACK and PING frames, which a page can hide. */
export const ACK_OR_PING_ONLY_CLASS = 'ack-ping-only';

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (character) => `&#${character.codePointAt(0)};`);
}

function cut(text: string): string {
  return text.length > LABEL_LENGTH_MAX ? `${text.slice(0, LABEL_LENGTH_MAX - 1)}…` : text;
}

/** The nodes in lane order: the server first, then the clients in plan order, then anything else seen. */
function nodeOrder(scenario: Scenario, entries: readonly TraceEntry[]): string[] {
  const names = [SERVER_NODE, ...scenario.clients.map((_, index) => clientNodeName(index))];
  for (const entry of entries) {
    for (const name of entry.kind === 'event' ? [entry.node] : [entry.from, entry.to]) {
      if (!names.includes(name)) {
        names.push(name);
      }
    }
  }
  return names;
}

/** Where rows and lanes are, for the drawing functions. */
interface Layout {
  readonly rowY: (row: number) => number;
  readonly x: (node: string) => number;
}

/** What the trace says of one datagram in flight, from its send. */
interface Flight {
  readonly row: number;
  readonly duplicate: boolean;
  readonly label: string | undefined;
  readonly ackOrPingOnly: boolean;
}

function flightOf(entry: DatagramTraceEntry, row: number, duplicate: boolean): Flight {
  return { row, duplicate, label: entry.label, ackOrPingOnly: entry.ackOrPingOnly === true };
}

function drawEvent(entry: EventTraceEntry, y: number, layout: Layout): string {
  const label = escapeXml(cut(describeEvent(entry.event)));
  const full = escapeXml(JSON.stringify(entry.event));
  const cx = layout.x(entry.node);
  const kind = (entry.event as { type?: string } | null)?.type ?? '';
  return `<g class="event ${escapeXml(kind.replace('.', '-'))}"><title>${full}</title><circle cx="${cx}" cy="${y}" r="4"/><text x="${cx + 8}" y="${y + 4}">${label}</text></g>`;
}

/**
 * The label of a datagram, drawn on its send row just beside the sender's line, on the side the
 * arrow leaves toward: a send row holds nothing else, so labels never overlap each other or events.
 */
function drawLabel(label: string, x1: number, x2: number, y1: number): string {
  const rightward = x2 >= x1;
  const x = rightward ? x1 + 7 : x1 - 7;
  return `<text class="datagram-label" x="${x}" y="${y1 - 3}" text-anchor="${rightward ? 'start' : 'end'}">${escapeXml(label)}</text>`;
}

/**
 * One datagram's fate as an arrow from its send: a delivery is a line to the receiver's row, a drop
 * stops three quarters of the way at the row where the network lost it and is crossed out there. The
 * label shows on the first arrow of a send only (a duplicate leaves from the same point).
 */
function drawArrow(
  entry: DatagramTraceEntry,
  row: number,
  flight: Flight | undefined,
  showLabel: boolean,
  layout: Layout,
  sentAtMs: number,
): string {
  const fromRow = flight?.row ?? row;
  const x1 = layout.x(entry.from);
  const y1 = layout.rowY(fromRow);
  const y = layout.rowY(row);
  const label = flight?.label;
  const fate = entry.kind === 'drop' ? `dropped (${entry.reason})` : 'delivered';
  const tip = `${label === undefined ? '' : `${label} · `}${entry.from} → ${entry.to}, ${entry.size} B #${entry.hash}, sent ${sentAtMs.toFixed(0)} ms, ${fate} ${entry.t.toFixed(0)} ms`;
  const quiet = flight?.ackOrPingOnly === true ? ` ${ACK_OR_PING_ONLY_CLASS}` : '';
  if (entry.kind === 'deliver') {
    const x2 = layout.x(entry.to);
    const text = showLabel && label !== undefined ? drawLabel(label, x1, x2, y1) : '';
    const line = flight?.duplicate === true ? 'datagram duplicate' : 'datagram';
    return `<g class="flight${quiet}"><title>${escapeXml(tip)}</title><line class="${line}" x1="${x1}" y1="${y1}" x2="${x2}" y2="${y}" marker-end="url(#arrow)"/>${text}</g>`;
  }
  const x2 = x1 + (layout.x(entry.to) - x1) * 0.75;
  const y2 = row === fromRow ? y + ROW_HEIGHT / 2 : y;
  const text = showLabel && label !== undefined ? drawLabel(label, x1, x2, y1) : '';
  return `<g class="drop ${escapeXml(entry.reason ?? '')}${quiet}"><title>${escapeXml(tip)}</title><line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}"/><path d="M${x2 - 5},${y2 - 5}L${x2 + 5},${y2 + 5}M${x2 - 5},${y2 + 5}L${x2 + 5},${y2 - 5}"/>${text}</g>`;
}

/** The lane lines with their headings, and each crashed client's crash marked on its lane. */
function drawLanes(run: RunRecord, entries: readonly TraceEntry[], layout: Layout, bottom: number): string[] {
  const heads: string[] = [];
  for (const lane of laneHeadings(run.scenario, nodeOrder(run.scenario, entries))) {
    const cx = layout.x(lane.node);
    heads.push(
      `<line class="node" x1="${cx}" y1="${TOP - 16}" x2="${cx}" y2="${bottom}"/>`,
      `<text class="node-name" x="${cx}" y="${TOP - 44}">${escapeXml(lane.heading)}</text>`,
      `<text class="node-sub" x="${cx}" y="${TOP - 28}">${escapeXml(lane.subtitle)}</text>`,
    );
    const crashedAtMs =
      lane.clientIndex === undefined ? undefined : run.clients[lane.clientIndex]?.crashedAtMs;
    if (crashedAtMs !== undefined) {
      const row = entries.findIndex((entry) => entry.t >= crashedAtMs);
      const cy = layout.rowY(row < 0 ? entries.length : row);
      heads.push(
        `<g class="crash"><title>crashed at ${crashedAtMs} ms</title><rect x="${cx - 30}" y="${cy - 9}" width="60" height="14" rx="3"/><text x="${cx}" y="${cy + 2}">crash</text></g>`,
      );
    }
  }
  return heads;
}

/** How many arrows a diagram draws, and how many of them are ACK-only or keepalive traffic. */
interface ArrowCounts {
  readonly arrowCount: number;
  readonly ackOrPingOnlyCount: number;
}

/** The body of the diagram (every row) and its arrow counts. */
function drawRows(entries: readonly TraceEntry[], layout: Layout) {
  const parts: string[] = [];
  // Paired by the network's send number, so identical datagrams in flight together never cross.
  const pending = new Map<number, Flight[]>();
  const labelled = new Set<number>();
  let lastTimeLabel = Number.NaN;
  let arrowCount = 0;
  let ackOrPingOnlyCount = 0;
  entries.forEach((entry, row) => {
    const y = layout.rowY(row);
    if (entry.t !== lastTimeLabel) {
      lastTimeLabel = entry.t;
      parts.push(`<text class="time" x="${LEFT - 10}" y="${y + 4}">${(entry.t / 1000).toFixed(3)} s</text>`);
    }
    if (entry.kind === 'event') {
      parts.push(drawEvent(entry, y, layout));
    } else if (entry.kind === 'send') {
      pending.set(entry.send, [flightOf(entry, row, false)]);
    } else if (entry.kind === 'duplicate') {
      const flights = pending.get(entry.send) ?? [];
      const first = flights[0];
      flights.push(first === undefined ? flightOf(entry, row, true) : { ...first, duplicate: true });
      pending.set(entry.send, flights);
    } else {
      const flight = pending.get(entry.send)?.shift();
      const sentAtMs = flight === undefined ? entry.t : (entries[flight.row]?.t ?? entry.t);
      const showLabel = !labelled.has(entry.send);
      labelled.add(entry.send);
      parts.push(drawArrow(entry, row, flight, showLabel, layout, sentAtMs));
      arrowCount += 1;
      ackOrPingOnlyCount += flight?.ackOrPingOnly === true ? 1 : 0;
    }
  });
  return { parts, counts: { arrowCount, ackOrPingOnlyCount } satisfies ArrowCounts };
}

/**
 * The space-time (Lamport) diagram of a run, as SVG: one vertical line per node headed by its node and
 * client name, an arrow per datagram from its send to its delivery labelled with what it carries
 * (duplicates dashed orange, drops red and crossed, ACK-only and keepalive arrows paler and of class
 * `ack-ping-only` so that a page can hide them), the events users saw labelled beside their node, and
 * virtual time down the left side. One row per trace entry, so that nothing overlaps however dense
 * the run.
 */
export function renderDiagramSvg(run: RunRecord, title: string): string {
  return drawDiagram(run, title).svg;
}

function drawDiagram(run: RunRecord, title: string): { readonly svg: string; readonly counts: ArrowCounts } {
  const all = run.trace.entries;
  const entries = all.slice(0, DIAGRAM_ROW_COUNT_MAX);
  const nodes = nodeOrder(run.scenario, entries);
  const columns = new Map(nodes.map((name, index) => [name, LEFT + 40 + index * COLUMN_WIDTH]));
  const width = LEFT + 40 + columns.size * COLUMN_WIDTH;
  const height = TOP + (entries.length + 2) * ROW_HEIGHT + 40;
  const layout: Layout = { rowY: (row) => TOP + row * ROW_HEIGHT, x: (name) => columns.get(name) ?? LEFT };
  const { parts, counts } = drawRows(entries, layout);
  const cutNote =
    all.length > entries.length
      ? `<text class="note" x="${LEFT}" y="${height - 10}">… ${all.length - entries.length} more trace entries not drawn</text>`
      : '';
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="ui-monospace, Menlo, Consolas, monospace" font-size="11">`,
    `<style>
      .time { fill: #667; text-anchor: end; }
      .node { stroke: #99a; stroke-width: 1.5; }
      .node-name { font-size: 14px; font-weight: bold; text-anchor: middle; fill: #223; }
      .node-sub { text-anchor: middle; fill: #556; }
      .datagram { stroke: #3569c9; stroke-width: 1.2; }
      .datagram.duplicate { stroke: #e08a00; stroke-dasharray: 5 3; }
      .datagram-label { fill: #24467f; font-size: 10px; }
      .ack-ping-only .datagram, .ack-ping-only line, .ack-ping-only path { stroke-opacity: 0.45; }
      .ack-ping-only .datagram-label { fill: #8a93a6; }
      .drop line, .drop path { stroke: #d22; stroke-width: 1.4; fill: none; }
      .drop.partition line, .drop.partition path { stroke: #8a2be2; }
      .drop .datagram-label { fill: #a33; }
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
    `<text class="legend" x="${LEFT}" y="44">blue arrow: datagram delivered, labelled with what it carries (pale: only ACK or PING, acknowledgements and keepalives) · orange dashed: duplicate</text>`,
    `<text class="legend" x="${LEFT}" y="60">red ×: lost · purple ×: blocked by a partition · green dot: what a user saw</text>`,
    ...drawLanes(run, entries, layout, height - 30),
    ...parts,
    cutNote,
    '</svg>',
  ].join('\n');
  return { svg, counts };
}

/** The id of the HTML page's checkbox that shows or hides ACK-only and keepalive arrows. */
const ACK_OR_PING_TOGGLE_ID = 'show-ack-ping-only';

/**
 * The same diagram in an HTML page, with the scenario and the violations (if any) above it, and a
 * checkbox that hides or shows the ACK-only and keepalive arrows. The checkbox works by CSS alone (a
 * sibling selector), so the page runs no script and works offline.
 */
export function renderDiagramHtml(run: RunRecord, title: string, violations: readonly string[]): string {
  const list =
    violations.length === 0
      ? '<p class="ok">Every guarantee held in this run.</p>'
      : `<ul class="bad">${violations.map((violation) => `<li>${escapeXml(violation)}</li>`).join('')}</ul>`;
  const { svg, counts } = drawDiagram(run, title);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:1.5rem;color:#112} .ok{color:#1a7f37} .bad{color:#b11}
details{margin:.5rem 0 1rem} pre{white-space:pre-wrap;font-size:12px;background:#f4f4f8;padding:.6rem}
label.toggle{display:inline-block;margin:0 0 .8rem .3rem;cursor:pointer}
#${ACK_OR_PING_TOGGLE_ID}:not(:checked) ~ svg .${ACK_OR_PING_ONLY_CLASS}{display:none}</style></head>
<body><h1>${escapeXml(title)}</h1>${list}
<details><summary>Scenario</summary><pre>${escapeXml(JSON.stringify(run.scenario, null, 1))}</pre></details>
<input type="checkbox" id="${ACK_OR_PING_TOGGLE_ID}" checked><label class="toggle" for="${ACK_OR_PING_TOGGLE_ID}">show ACK-only and keepalive datagrams (${counts.ackOrPingOnlyCount} of the ${counts.arrowCount} arrows)</label>
${svg}
</body></html>
`;
}
