import type { Origin, ReliableFrame, RoomRefusal } from '../codec/frames.ts';
import { nameKey } from '../names.ts';
import type { ClientEvent } from './client-events.ts';
import type { HeardLines } from './heard-lines.ts';

export interface DeliveryState {
  readonly name: string;
  /** The client's origin: a message from its name and origin is its own, coming back. */
  readonly origin: Origin;
  /** The highest of its own lines the server has confirmed. */
  readonly confirmedLine: number;
  /** What has been shown of the others (recorded as frames are shown: the one thing this changes). */
  readonly heard: HeardLines;
  /** For a rejoin, the texts resent in it: the member list is then a `rejoined`, not a `welcome`. */
  readonly resentCount: number | undefined;
  /** The server's identity key (hex), for the welcome. */
  readonly serverKeyHex: string;
  readonly welcomeNames: readonly string[];
  readonly members: readonly string[];
}

export interface DeliveryOutcome {
  readonly events: readonly ClientEvent[];
  readonly welcomeNames: readonly string[];
  readonly members: readonly string[];
  readonly confirmedLine: number;
  /**
   * How the server ended the session, if a frame did: it confirmed our QUIT (`goodbye`), it is
   * stopping and closed the room (`shutdown`), or the room refused our claim (`refused`, with the
   * reason in `refusal`). Frames after the end are not shown.
   */
  readonly end: 'goodbye' | 'shutdown' | 'refused' | undefined;
  readonly refusal: RoomRefusal | undefined;
}

/**
 * Turns the frames the link delivered, in order, into what the user sees, and keeps the client's
 * picture of the room current: the machine assigns and emits what this returns. A text already shown
 * (resent after a rejoin) is not shown again; `state.heard` records what is.
 */
export function applyDelivered(
  state: DeliveryState,
  frames: readonly ReliableFrame[],
  memberListCountMax: number,
): DeliveryOutcome {
  let welcomeNames = state.welcomeNames;
  let members = state.members;
  let confirmedLine = state.confirmedLine;
  let end: DeliveryOutcome['end'];
  let refusal: RoomRefusal | undefined;
  const events: ClientEvent[] = [];
  for (const frame of frames) {
    if (end !== undefined) {
      break;
    }
    switch (frame.type) {
      case 'members':
        welcomeNames = [...welcomeNames, ...frame.names].slice(0, memberListCountMax);
        if (frame.final) {
          members = welcomeNames;
          welcomeNames = [];
          const welcome = {
            name: state.name,
            members,
            roomSeq: frame.roomSeq,
            serverKey: state.serverKeyHex,
          };
          events.push(
            state.resentCount === undefined
              ? { type: 'welcome', ...welcome }
              : { type: 'rejoined', ...welcome, resent: state.resentCount },
          );
        }
        break;
      case 'joined':
        if (members.length < memberListCountMax) {
          members = [...members, frame.name];
        }
        events.push({ type: 'joined', name: frame.name, roomSeq: frame.roomSeq });
        break;
      case 'left': {
        const key = nameKey(frame.name);
        members = members.filter((member) => nameKey(member) !== key);
        events.push({ type: 'left', name: frame.name, reason: frame.reason, roomSeq: frame.roomSeq });
        break;
      }
      case 'message': {
        const self = frame.origin === state.origin && frame.from === state.name;
        const fresh = self ? frame.line > confirmedLine : state.heard.take(frame.origin, frame.line);
        if (!fresh) {
          break;
        }
        if (self) {
          confirmedLine = frame.line;
        }
        events.push({
          type: 'message',
          from: frame.from,
          text: frame.text,
          roomSeq: frame.roomSeq,
          timeMs: frame.timeMs,
          self,
        });
        break;
      }
      case 'goodbye':
      case 'shutdown':
        end = frame.type;
        break;
      case 'refused':
        end = 'refused';
        refusal = frame.reason;
        break;
      case 'paced':
        events.push({
          type: 'slowed',
          ratePerSecond: frame.ratePerSecond,
          burst: frame.burst,
          message: `you are sending faster than the room takes from one member (${frame.burst} at once, then ${frame.ratePerSecond} a second): your messages wait their turn, in order`,
        });
        break;
      case 'claim':
      case 'say':
      case 'bye':
        // Client-to-server frames arriving at a client are a confused server's; nothing to show.
        break;
    }
  }
  return { events, welcomeNames, members, confirmedLine, end, refusal };
}
