import type { ReliableFrame, RoomRefusal } from '../codec/frames.ts';
import { nameKey } from '../names.ts';
import type { ClientEvent } from './client-events.ts';

export interface DeliveryState {
  readonly name: string;
  /** The server's identity key (hex), for the welcome. */
  readonly serverKeyHex: string;
  readonly welcomeNames: readonly string[];
  readonly members: readonly string[];
}

export interface DeliveryOutcome {
  readonly events: readonly ClientEvent[];
  readonly welcomeNames: readonly string[];
  readonly members: readonly string[];
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
 * picture of the room current. Pure: the machine assigns and emits what this returns.
 */
export function applyDelivered(
  state: DeliveryState,
  frames: readonly ReliableFrame[],
  memberListCountMax: number,
): DeliveryOutcome {
  let welcomeNames = state.welcomeNames;
  let members = state.members;
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
          events.push({
            type: 'welcome',
            name: state.name,
            members,
            roomSeq: frame.roomSeq,
            serverKey: state.serverKeyHex,
          });
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
      case 'message':
        events.push({
          type: 'message',
          from: frame.from,
          text: frame.text,
          roomSeq: frame.roomSeq,
          timeMs: frame.timeMs,
          self: frame.from === state.name,
        });
        break;
      case 'goodbye':
      case 'shutdown':
        end = frame.type;
        break;
      case 'refused':
        end = 'refused';
        refusal = frame.reason;
        break;
      case 'claim':
      case 'say':
      case 'bye':
        // Client-to-server frames arriving at a client are a confused server's; nothing to show.
        break;
    }
  }
  return { events, welcomeNames, members, end, refusal };
}
