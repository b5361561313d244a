import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAddress } from '../engine/index.ts';
import { expectArguments, hostArgument, portArgument } from './arguments.ts';
import type { CommandContext } from './command-line.ts';
import { GuiRoom } from './gui/gui-room.ts';
import { startGuiServer } from './gui/gui-server.ts';
import { isFingerprint, stateDirectory } from './state-dir.ts';
import { EXIT_INTERRUPTED } from './terminal-client.ts';

/**
 * `gaschat gui [host] [server-port] [client-port]`: the client engine in this process, and its window
 * a page this process serves to the user's own browser (a browser cannot speak UDP). Prints the page's
 * address and opens it (`--no-open`: only prints). The first signal leaves the room with QUIT, then
 * stops; a second stops at once.
 */
export async function guiCommand({ cli, colours }: CommandContext): Promise<void> {
  const [hostRaw, serverPortRaw, clientPortRaw] = expectArguments(
    cli.input,
    { min: 0, max: 3 },
    '[host] [server-port] [client-port]',
    'gui',
  );
  const host = hostRaw === undefined ? '127.0.0.1' : hostArgument(hostRaw);
  const serverPort =
    serverPortRaw === undefined ? 8080 : portArgument(serverPortRaw, 'the server port', false, 'gui');
  const clientPort =
    clientPortRaw === undefined ? 0 : portArgument(clientPortRaw, 'the client port', true, 'gui');
  const serverKey = cli.flags.serverKey;
  if (serverKey !== undefined && !isFingerprint(serverKey)) {
    throw new Error(`--server-key "${serverKey}" is not a key fingerprint (SHA256:...)`);
  }
  const gui = await startGuiServer(
    (publish) =>
      new GuiRoom(
        {
          server: formatAddress({ host, port: serverPort }),
          clientPort,
          stateDir: stateDirectory(cli.flags.stateDir, process.env),
          serverKey,
        },
        publish,
      ),
  );
  process.title = 'gaschat gui';
  console.log(gui.url);
  console.error(
    colours.err.dim('the chat window is at this address (only this machine can open it); Ctrl-C leaves'),
  );
  if (cli.flags.open !== false) {
    openInBrowser(gui.url, (message) => console.error(colours.err.yellow(`gaschat gui: ${message}`)));
  }
  let asked = false;
  const stop = () => {
    if (asked) {
      process.exit(EXIT_INTERRUPTED);
    }
    asked = true;
    void gui.room
      .leave()
      .then(() => gui.close())
      .then(() => process.exit(0));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, stop);
  }
}

/**
 * The system's way to open the page in the default browser; a failure only says how to open it by
 * hand. What is opened is a file in a directory only this user can read, which sends the browser on to
 * the page: the address with its token never appears in another process's arguments, which every user
 * of the machine can read.
 */
function openInBrowser(url: string, warn: (message: string) => void): void {
  const directory = mkdtempSync(join(tmpdir(), 'gaschat-gui-'));
  chmodSync(directory, 0o700);
  const file = join(directory, 'open.html');
  writeFileSync(
    file,
    `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${url}"><title>gaschat</title><a href="${url}">gaschat</a>\n`,
    { mode: 0o600 },
  );
  process.on('exit', () => rmSync(directory, { recursive: true, force: true }));
  const [command, ...args] =
    process.platform === 'darwin'
      ? ['open', file]
      : process.platform === 'win32'
        ? ['cmd', '/c', 'start', '""', file]
        : ['xdg-open', file];
  try {
    const child = spawn(command ?? 'xdg-open', args, { stdio: 'ignore', detached: true });
    child.on('error', () => warn(`could not open a browser (${command} is missing); open the address above`));
    child.unref();
  } catch {
    warn('could not open a browser; open the address above');
  }
}
