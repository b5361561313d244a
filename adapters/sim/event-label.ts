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
    case 'session.opened':
      return 'session opened';
    case 'session.ended':
      return 'session ended';
    default:
      return String(e.type);
  }
}
