import type { GuiEntry, GuiPhase, GuiUpdate, GuiView } from '../gui-protocol.ts';

/**
 * The page of `gaschat gui`: a view of the room the local gaschat process holds. It listens to the
 * process's event stream and posts what the user does; every text from the network goes into the page
 * with `textContent`, never as markup. Compiled on its own (tsconfig.page.json: the DOM, no Node).
 */

const token = new URLSearchParams(location.search).get('t') ?? '';

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) {
    throw new Error(`the page has no #${id}`);
  }
  return found as T;
}

const status = element<HTMLParagraphElement>('status');
const loginView = element<HTMLElement>('login-view');
const loginForm = element<HTMLFormElement>('login-form');
const serverInput = element<HTMLInputElement>('server');
const usernameInput = element<HTMLInputElement>('username');
const passwordInput = element<HTMLInputElement>('password');
const loginButton = loginForm.querySelector('button') as HTMLButtonElement;
const loginAlert = element<HTMLParagraphElement>('login-alert');
const chatView = element<HTMLElement>('chat-view');
const messages = element<HTMLOListElement>('messages');
const newMessages = element<HTMLButtonElement>('new-messages');
const sayForm = element<HTMLFormElement>('say-form');
const messageInput = element<HTMLInputElement>('message');
const sendButton = sayForm.querySelector('button') as HTMLButtonElement;
const byteCount = element<HTMLSpanElement>('byte-count');
const sayError = element<HTMLParagraphElement>('say-error');
const members = element<HTMLUListElement>('members');
const leaveButton = element<HTMLButtonElement>('leave');
const closedPanel = element<HTMLElement>('closed-panel');
const closedWhy = element<HTMLParagraphElement>('closed-why');
const loginAgain = element<HTMLButtonElement>('login-again');

const encoder = new TextEncoder();
let textBytesMax = 1000;
let phase: GuiPhase = 'login';
let unread = 0;
/** The list items by entry id: a confirmation replaces its pending item in place. */
const items = new Map<number, HTMLLIElement>();

async function post(path: string, body: unknown): Promise<{ ok: boolean; error?: string }> {
  try {
    const response = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-gaschat-token': token },
      body: JSON.stringify(body),
    });
    return (await response.json()) as { ok: boolean; error?: string };
  } catch (error) {
    return {
      ok: false,
      error: `the gaschat process is not answering (${String(error)}); is it still running?`,
    };
  }
}

// ---- Rendering: text only. ----

/** A time as the server sent it, or now for one no date can hold (a hostile server's). */
function dateOf(timeMs: number): Date {
  const date = new Date(timeMs);
  return Number.isNaN(date.getTime()) ? new Date() : date;
}

function timeOf(timeMs: number): string {
  return dateOf(timeMs).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** List items the page keeps at most (the process keeps as many for a reload): the oldest go. */
const ITEM_COUNT_MAX = 2000;

function span(className: string, text: string): HTMLSpanElement {
  const part = document.createElement('span');
  part.className = className;
  part.textContent = text;
  return part;
}

function itemFor(entry: GuiEntry): HTMLLIElement {
  const item = document.createElement('li');
  const time = document.createElement('time');
  time.className = 'time';
  time.dateTime = dateOf(entry.timeMs).toISOString();
  time.textContent = timeOf(entry.timeMs);
  item.append(time);
  if (entry.kind === 'notice') {
    item.className = 'notice';
    item.append(span('text', entry.text));
    return item;
  }
  item.className = entry.self ? 'message self' : 'message';
  item.dataset.state = entry.state;
  const text = span('text', entry.text);
  // Each message's own direction: Arabic or Hebrew reads right to left, among left-to-right ones.
  text.dir = 'auto';
  item.append(span('from', `${entry.from}:`), text);
  if (entry.self) {
    const mark =
      entry.state === 'confirmed'
        ? '✓ delivered'
        : entry.state === 'sending'
          ? '… sending'
          : '✗ not delivered';
    item.append(span('mark', mark));
  }
  return item;
}

function atBottom(): boolean {
  return messages.scrollTop + messages.clientHeight >= messages.scrollHeight - 8;
}

function scrollToBottom(): void {
  messages.scrollTop = messages.scrollHeight;
  newMessages.hidden = true;
}

function showEntry(entry: GuiEntry): void {
  const stick = atBottom();
  const item = itemFor(entry);
  const existing = items.get(entry.id);
  if (existing === undefined) {
    messages.append(item);
    while (messages.childElementCount > ITEM_COUNT_MAX) {
      messages.firstElementChild?.remove();
    }
    if (entry.kind === 'message' && !entry.self && document.hidden) {
      unread += 1;
      document.title = `(${unread}) gaschat`;
    }
  } else {
    existing.replaceWith(item);
  }
  items.set(entry.id, item);
  if (stick) {
    scrollToBottom();
  } else if (existing === undefined) {
    newMessages.hidden = false;
  }
}

function showMembers(names: readonly string[]): void {
  members.replaceChildren(
    ...names.map((name) => {
      const item = document.createElement('li');
      item.textContent = name;
      return item;
    }),
  );
}

function showPhase(next: GuiPhase, why: string): void {
  phase = next;
  status.textContent = why;
  status.dataset.phase = next;
  const inRoom = next === 'joined' || next === 'reconnecting' || next === 'closed';
  loginView.hidden = inRoom;
  chatView.hidden = !inRoom;
  closedPanel.hidden = next !== 'closed';
  closedWhy.textContent = next === 'closed' ? `The room is closed for you: ${why}.` : '';
  const chatting = next === 'joined' || next === 'reconnecting';
  messageInput.disabled = !chatting;
  leaveButton.disabled = !chatting;
  updateByteCount();
  loginButton.disabled = next === 'joining';
  if (next === 'joined' && document.activeElement === document.body) {
    messageInput.focus();
  }
}

function showView(view: GuiView): void {
  textBytesMax = view.textBytesMax;
  if (serverInput.value === '') {
    serverInput.value = view.server;
  }
  if (usernameInput.value === '' && view.name !== '') {
    usernameInput.value = view.name;
  }
  messages.replaceChildren();
  items.clear();
  for (const entry of view.entries) {
    showEntry(entry);
  }
  showMembers(view.members);
  showPhase(view.phase, view.status);
  scrollToBottom();
}

function updateByteCount(): void {
  const bytes = encoder.encode(messageInput.value).length;
  const over = bytes > textBytesMax;
  byteCount.textContent = over
    ? `too long: ${bytes} of at most ${textBytesMax} bytes`
    : `${bytes} / ${textBytesMax} bytes`;
  byteCount.dataset.over = String(over);
  sendButton.disabled = over || messageInput.disabled;
}

// ---- What the user does. ----

loginForm.addEventListener('submit', (event) => {
  event.preventDefault();
  loginAlert.textContent = '';
  loginButton.disabled = true;
  void post('/login', {
    server: serverInput.value,
    name: usernameInput.value,
    password: passwordInput.value,
  }).then((result) => {
    if (!result.ok) {
      loginAlert.textContent = result.error ?? 'the login failed';
      loginButton.disabled = false;
    }
  });
});

async function leave(): Promise<void> {
  leaveButton.disabled = true;
  await post('/leave', {});
}

sayForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = messageInput.value;
  // As in the original: typing QUIT leaves.
  if (text.trim() === 'QUIT' || text.trim() === '/quit') {
    messageInput.value = '';
    void leave();
    return;
  }
  if (text.trim() === '' || encoder.encode(text).length > textBytesMax) {
    return;
  }
  void post('/say', { text }).then((result) => {
    if (result.ok) {
      sayError.textContent = '';
      messageInput.value = '';
      updateByteCount();
    } else {
      sayError.textContent = result.error ?? 'the message was not sent';
    }
  });
});

messageInput.addEventListener('input', updateByteCount);
leaveButton.addEventListener('click', () => void leave());
newMessages.addEventListener('click', scrollToBottom);
messages.addEventListener('scroll', () => {
  if (atBottom()) {
    newMessages.hidden = true;
  }
});
loginAgain.addEventListener('click', () => {
  showPhase('login', 'not logged in');
  passwordInput.focus();
});
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) {
    unread = 0;
    document.title = 'gaschat';
  }
});

// ---- The room's updates. ----

const events = new EventSource(`/events?t=${encodeURIComponent(token)}`);
events.addEventListener('message', (event: MessageEvent<string>) => {
  const update = JSON.parse(event.data) as GuiUpdate;
  switch (update.type) {
    case 'view':
      showView(update.view);
      return;
    case 'entry':
      showEntry(update.entry);
      return;
    case 'members':
      showMembers(update.members);
      return;
    case 'phase':
      if (phase === 'closed' && update.phase === 'login') {
        // A refused login after a closed room: back to the form, where the alert says why.
        showPhase('login', update.status);
      } else {
        showPhase(update.phase, update.status);
      }
      return;
    case 'alert':
      loginAlert.textContent = update.message;
      loginButton.disabled = false;
      return;
  }
});
events.addEventListener('error', () => {
  if (events.readyState === EventSource.CLOSED) {
    status.textContent = 'the gaschat process has stopped; start gaschat gui again';
    status.dataset.phase = 'closed';
  }
});
