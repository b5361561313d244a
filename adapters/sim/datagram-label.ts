import { decodeFrames, decodePacket, type Frame, type Packet } from '../../engine/index.ts';
import type { DatagramLabel } from './network.ts';
import type { SealedBook } from './sim-crypto.ts';

/** Labels longer than this are cut: the diagram draws them beside an arrow, the trace on one line. */
export const DATAGRAM_LABEL_LENGTH_MAX = 40;

function cut(text: string): string {
  return text.length > DATAGRAM_LABEL_LENGTH_MAX ? `${text.slice(0, DATAGRAM_LABEL_LENGTH_MAX - 1)}…` : text;
}

/**
 * One frame in protocol words; room events carry their room sequence number as `#n`. Every other frame
 * is named by its type alone (`ACK`, `PING`, `SAY`, `BYE`, `GOODBYE`), which also names any frame a
 * later version adds before this list learns more about it.
 */
function frameWords(frame: Frame): string {
  switch (frame.type) {
    case 'members':
      return `MEMBERS #${frame.roomSeq}`;
    case 'joined':
      return `JOINED #${frame.roomSeq} ${frame.name}`;
    case 'message':
      return `MESSAGE #${frame.roomSeq}`;
    case 'left':
      return `LEFT #${frame.roomSeq} ${frame.name}`;
    default:
      return frame.type.toUpperCase();
  }
}

/**
 * The frames of a SESSION packet joined by `+`. When they do not all fit, as many as fit are named
 * and the rest counted (`ACK+MESSAGE #4+MESSAGE #5+3 more`), so that a cut label still says how much
 * the datagram carried.
 */
function framesWords(frames: readonly Frame[]): string {
  const words = frames.map(frameWords);
  const all = words.join('+');
  if (all.length <= DATAGRAM_LABEL_LENGTH_MAX) {
    return all;
  }
  let shown = '';
  for (const [index, word] of words.entries()) {
    const candidate = shown === '' ? word : `${shown}+${word}`;
    const rest = `+${words.length - index - 1} more`;
    if (candidate.length + rest.length > DATAGRAM_LABEL_LENGTH_MAX) {
      return cut(shown === '' ? `${word}+${words.length - 1} more` : `${shown}+${words.length - index} more`);
    }
    shown = candidate;
  }
  return cut(all);
}

/**
 * The label of one decoded packet, in protocol words. ACK-only and keepalive packets (SESSION packets
 * whose frames are all ACK or PING) are marked, so that a diagram can hide that traffic.
 *
 * @example
 * ```ts
 * labelOfPacket({ type: 'refuse', clientNonce, reason: 'bad-password' });
 * // { text: 'REFUSE bad-password', ackOrPingOnly: false }
 * ```
 */
export function labelOfPacket(packet: Packet, book?: SealedBook): DatagramLabel {
  const packetType = packet.type;
  switch (packet.type) {
    case 'hello':
      return { text: 'HELLO', ackOrPingOnly: false, packetType };
    case 'challenge':
      return { text: 'CHALLENGE', ackOrPingOnly: false, packetType };
    case 'join':
      return { text: 'JOIN', ackOrPingOnly: false, packetType };
    case 'accept':
      return { text: 'ACCEPT', ackOrPingOnly: false, packetType };
    case 'refuse':
      return { text: `REFUSE ${packet.reason}`, ackOrPingOnly: false, packetType };
    case 'reset':
      return { text: 'RESET', ackOrPingOnly: false, packetType };
    case 'wait':
      return { text: `WAIT ${packet.reason} ${packet.retryAfterMs} ms`, ackOrPingOnly: false, packetType };
    case 'session': {
      // Sealed: its frames are known only if this run sealed it (the book); a forgery is just sealed.
      const plaintext = book?.plaintextOf(packet.header, packet.sealed);
      const decoded = plaintext === undefined ? undefined : decodeFrames(plaintext);
      if (decoded === undefined || !decoded.ok) {
        return {
          text: `sealed #${packet.packetNumber}`,
          ackOrPingOnly: false,
          packetType,
          sessionId: packet.sessionId,
        };
      }
      return {
        text: framesWords(decoded.frames),
        ackOrPingOnly: decoded.frames.every((frame) => frame.type === 'ack' || frame.type === 'ping'),
        packetType,
        sessionId: packet.sessionId,
      };
    }
  }
}

/**
 * Labels a datagram of this protocol version from its bytes, which travel in the clear: the describer
 * the simulator gives its network (see `SimNetworkOptions.describe`). Bytes the codec refuses are
 * labelled with the reason, never thrown on.
 *
 * @example
 * ```ts
 * const network = new SimNetwork({ clock, trace, latencyMs: 5, faultTape: [], partitions: [], describe: describeDatagram });
 * describeDatagram(encodePacket({ type: 'session', sessionId, packetNumber: 3, frames: [{ type: 'ping' }] }));
 * // { text: 'PING', ackOrPingOnly: true }
 * ```
 */
export function describeDatagram(datagram: Uint8Array, book?: SealedBook): DatagramLabel {
  const result = decodePacket(datagram);
  return result.ok
    ? labelOfPacket(result.packet, book)
    : { text: `undecodable (${result.error.kind})`, ackOrPingOnly: false, packetType: 'undecodable' };
}
