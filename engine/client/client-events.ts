import type { LeaveReason, RefuseReason, WaitReason } from '../codec/frames.ts';

/** Why a client stopped. */
export type CloseReason = 'quit' | 'timeout' | 'unreachable' | 'rejected' | 'server-closed';

/** Why the client refused to send something its user asked it to. */
export type ClientErrorCode =
  | 'text-empty'
  | 'text-too-long'
  | 'text-malformed'
  | 'send-queue-full'
  | 'not-open'
  | 'not-sent';

/**
 * Everything a user of the client sees, emitted by the client machine (`client.on('message', …)`).
 * The JSON mode of the command prints these, one per line.
 */
export type ClientEvent =
  | {
      readonly type: 'welcome';
      readonly name: string;
      readonly members: readonly string[];
      readonly roomSeq: number;
      /** The server's identity key (hex), which signed the handshake: what a client pins. */
      readonly serverKey: string;
    }
  /**
   * The server restarted and lost the session (its RESET proved it): the client joins again with the
   * same name, and will resend the `unconfirmed` texts the old server never confirmed.
   */
  | { readonly type: 'reconnecting'; readonly unconfirmed: number; readonly message: string }
  /**
   * Back in the room after a `reconnecting`: the member list as a welcome's, and how many texts were
   * resent (each is shown at most once: members recognise one the old server had relayed).
   */
  | {
      readonly type: 'rejoined';
      readonly name: string;
      readonly members: readonly string[];
      readonly roomSeq: number;
      readonly serverKey: string;
      readonly resent: number;
    }
  | { readonly type: 'joined'; readonly name: string; readonly roomSeq: number }
  | {
      readonly type: 'message';
      readonly from: string;
      readonly text: string;
      readonly roomSeq: number;
      /** When the server sequenced it, in the server's clock (ms since the epoch on real networks). */
      readonly timeMs: number;
      /** True for the client's own message coming back: the server's confirmation. */
      readonly self: boolean;
    }
  | { readonly type: 'left'; readonly name: string; readonly reason: LeaveReason; readonly roomSeq: number }
  | { readonly type: 'rejected'; readonly reason: RefuseReason; readonly message: string }
  /** The server has not answered the handshake yet; attempt `attempt` of `attemptCountMax` goes out. */
  | {
      readonly type: 'retrying';
      readonly attempt: number;
      readonly attemptCountMax: number;
      readonly message: string;
    }
  /**
   * The server paces this member's texts (PACED): they are sent, in order, as fast as the room takes
   * them from one member; nothing is lost.
   */
  | {
      readonly type: 'slowed';
      readonly ratePerSecond: number;
      readonly burst: number;
      readonly message: string;
    }
  /** The server would not run the key exchange yet (a WAIT): the client tries again after `retryAfterMs`. */
  | {
      readonly type: 'waiting';
      readonly reason: WaitReason;
      readonly retryAfterMs: number;
      readonly message: string;
    }
  | { readonly type: 'closed'; readonly reason: CloseReason; readonly message: string }
  | { readonly type: 'error'; readonly code: ClientErrorCode; readonly message: string };

/** Words for a refusal, for people. */
export function describeRefusal(reason: RefuseReason, name: string): string {
  switch (reason) {
    case 'bad-password':
      // The client cannot tell: the server's answers did not open with its key.
      return 'the room password is wrong, or someone is interfering with the connection';
    case 'name-taken':
      return `the name "${name}" is taken in this room; choose another`;
    case 'bad-name':
      return `the name "${name}" is not allowed: use 1 to 32 letters, digits, _ or -`;
    case 'room-full':
      return 'the room is full; try again later';
    case 'version':
      return 'the server speaks another version of the gaschat protocol; upgrade one of the two';
    case 'server-key':
      return "the server's identity key is not the one expected: another server may be posing as it, or it was given a new key";
    case 'load':
      return 'the server is busy with other logins';
    case 'throttled':
      return 'the server is slowing logins from this address: too many tries that did not prove the password';
    case 'host-quota':
      return 'the server holds as many sessions from this address as it allows; close one, or ask its operator to raise --sessions-per-host';
  }
}
