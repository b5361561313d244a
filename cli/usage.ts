/** The commands of `gaschat`, in the order the help lists them. */
export const COMMANDS = ['server', 'client', 'gui', 'sim'] as const;
export type CommandName = (typeof COMMANDS)[number];

export function isCommandName(word: string | undefined): word is CommandName {
  return (COMMANDS as readonly string[]).includes(word ?? '');
}

const COLOUR_OPTIONS = `    --no-color              no colours (also NO_COLOR=1); --color forces them (also FORCE_COLOR=1)
    -h, --help              show this help`;

const GENERAL = `
  gaschat: a chat room over UDP, checked by deterministic simulation

  Usage
    $ gaschat server [host] [-p port]                     run a chat room (127.0.0.1, UDP port 8080)
    $ gaschat client <host> <server-port> [client-port]   join a room
    $ gaschat gui [host] [server-port] [client-port]      join a room in a browser window
    $ gaschat sim [--runs N] [--seed S]                   simulate rooms under faults, check every guarantee
    $ gaschat help <command>                              the options of one command (or: <command> --help)

  Options
    -v, --version           print the version
${COLOUR_OPTIONS}

  Exit codes
    0 left cleanly   1 runtime error   2 usage error   3 login refused, server unreachable or gone
    4 the server closed the room   130 interrupted twice

  Examples
    $ gaschat server --password rahasia
    $ gaschat client 127.0.0.1 8080 -u ana
    $ gaschat sim --runs 1000
`;

const SERVER = `
  gaschat server: run a chat room; every action it takes is printed

  Usage
    $ gaschat server [host] [-p port] [--password PW]

  host is 127.0.0.1 by default (this machine only); 0.0.0.0 (IPv4) or :: (IPv6 and IPv4) serves a LAN,
  once the UDP port is open in the firewall (on Linux with ufw: sudo ufw allow 8080/udp).

  Options
    -p, --port N            UDP port to listen on (default 8080; 0 picks a free one)
    --password PW           the room password (or GASCHAT_PASSWORD); without one, the server makes
                            one up and prints it
    --json                  print every action as one JSON object per line
    --quiet                 print only errors
    --idle-timeout-ms N     announce a silent member as left after N ms (default 30000)
    --state-dir DIR         where the server keeps its identity key (or GASCHAT_STATE_DIR; default
                            $XDG_STATE_HOME/gaschat, else ~/.local/state/gaschat)
${COLOUR_OPTIONS}

  Limits (a flood, a password guesser or one greedy member cannot take the room)
    --max-members N         members at most (default 256)
    --sessions-per-host N   sessions one IP address may hold, members or logging in (default 8)
    --logins-per-second N   key exchanges the server runs per second for everyone (default 32);
                            one address whose logins never prove the password waits 1, 2, 4 ... 60 s
    --say-rate N            messages a second one member may send, sustained (default 20)
    --say-burst N           messages one member may send at once (default 40, at most 64); past
                            its share a member's messages wait their turn, in order, and it is told
    --room-say-rate N       messages a second the members may send together (default 200)
    --room-say-burst N      messages the members may send together at once (default 512, the most:
                            half a member's send queue); past the room's share messages wait their
                            turn at the server, the members taking turns

  The server prints its key's fingerprint (server key: SHA256:...) at start. It keeps the key in its
  state directory, so that a restarted server is the same server to its clients.

  Ctrl-C (or SIGTERM) stops the server: every member is told the room closes, and the server waits
  about a second for them to confirm. A second Ctrl-C stops it at once.

  Examples
    $ gaschat server --password rahasia
    $ gaschat server 0.0.0.0 -p 9000 --password rahasia --json
`;

const CLIENT = `
  gaschat client: join a chat room

  Usage
    $ gaschat client <host> <server-port> [client-port] [-u name] [--password PW]

  client-port is the client's own UDP port (any free one by default).

  Options
    -u, --username NAME     your name: 1 to 32 letters, digits, _ or - (asked for when missing)
    --password PW           the room password (or GASCHAT_PASSWORD; asked for, masked, when missing)
    --json                  for scripts: each line of standard input is a message, QUIT or the end of
                            input leaves; every event is printed as one JSON object per line
    --idle-timeout-ms N     give up on a silent server after N ms (default 30000)
    --server-key SHA256:... join only the server with this key fingerprint (it prints it at start);
                            without it, the key a server had at the first login is remembered in the
                            state directory and insisted on afterwards (trust on first use)
    --state-dir DIR         where known servers are remembered (or GASCHAT_STATE_DIR; default
                            $XDG_STATE_HOME/gaschat, else ~/.local/state/gaschat)
${COLOUR_OPTIONS}

  In the chat
    /who  the members   /help  the commands   QUIT or /quit (or Ctrl-C, Ctrl-D)  leave

  Exit codes
    0 left cleanly   1 runtime error   2 usage error   3 login refused, server unreachable or gone
    4 the server closed the room   130 interrupted twice

  Examples
    $ gaschat client 192.168.1.10 8080 -u ana
    $ echo halo | gaschat client 127.0.0.1 8080 --json -u bot --password rahasia
`;

const GUI = `
  gaschat gui: join a chat room in a browser window

  Usage
    $ gaschat gui [host] [server-port] [client-port] [--no-open]

  The client runs in this process (a browser cannot speak UDP); its window is a page this process
  serves to your own browser only: it listens on 127.0.0.1, and the address it prints carries a
  random token. The Server field is filled with host:port (127.0.0.1:8080 by default).

  Options
    --no-open               only print the page's address; do not open a browser
    --server-key SHA256:... join only the server with this key fingerprint (see gaschat client)
    --state-dir DIR         where known servers are remembered (as for gaschat client)
${COLOUR_OPTIONS}

  Ctrl-C (or SIGTERM) leaves the room with QUIT and stops; a second one stops at once.

  Examples
    $ gaschat gui 192.168.1.10 8080
    $ gaschat gui --no-open
`;

const SIM = `
  gaschat sim: simulate chat rooms under faults and check every guarantee

  Each run draws its own faults, clients and workload from its seed (swarm testing), runs in virtual
  time and is checked; a failing run is shrunk to its smallest case and printed with a replay command.

  Usage
    $ gaschat sim [--runs N] [--seed S] [--clients K] [--messages M] [--time-ms T]
    $ gaschat sim --replay TOKEN

  Options
    --runs N                runs to simulate (default 200)
    --seed S                seed of the first run; run i uses seed S + i (default: from the clock)
    --clients K             exactly K clients per run (default 1 to 6; the simulated room holds 4,
                            so more are refused as room-full, which is checked too)
    --messages M            exactly M messages per client (default 0 to 8)
    --time-ms T             joins, messages and faults for T virtual ms (default 10000), then 20 s healed
    --replay TOKEN          replay one run exactly, from the token a failure prints
    --diagram FILE          write the space-time diagram (.svg or .html) of the first failure, the
                            replay, or else the run of --seed
    --check-determinism     run each seed twice; fail on the first difference between the traces
    --json                  print the summary and any failure as JSON
${COLOUR_OPTIONS}

  Exit codes
    0 every run kept every guarantee   1 a run failed   2 usage error

  Examples
    $ gaschat sim --runs 1000
    $ gaschat sim --runs 1 --seed 42 --diagram run.html
    $ gaschat sim --runs 500 --check-determinism
`;

/** The help text of `command`, or the general one. */
export function helpText(command?: CommandName): string {
  switch (command) {
    case 'server':
      return SERVER;
    case 'client':
      return CLIENT;
    case 'gui':
      return GUI;
    case 'sim':
      return SIM;
    case undefined:
      return GENERAL;
  }
}
