/**
 * What the page shows, kept by the `gaschat gui` process: the page is a view of it, so that a reload
 * (or a second tab) shows the same room. Everything here is plain data sent to the page as JSON; the
 * page inserts every string as text.
 */

/** Where the one login of the window is. */
export type GuiPhase = 'login' | 'joining' | 'joined' | 'reconnecting' | 'closed';

/** One line of the message list. */
export type GuiEntry =
  | {
      readonly kind: 'message';
      readonly id: number;
      readonly from: string;
      readonly text: string;
      /** When the server sequenced it (ms since the epoch); for a pending one, when it was sent. */
      readonly timeMs: number;
      readonly self: boolean;
      /** Own messages: `sending` until the server confirms them, or `not-delivered` if it never did. */
      readonly state: 'confirmed' | 'sending' | 'not-delivered';
    }
  | { readonly kind: 'notice'; readonly id: number; readonly text: string; readonly timeMs: number };

/** The whole view, sent to a page when it connects. */
export interface GuiView {
  readonly phase: GuiPhase;
  /** The server the form is filled with: `host:port`. */
  readonly server: string;
  readonly name: string;
  readonly members: readonly string[];
  /** Why the phase is what it is, in the terminal client's words ("the server closed the room"). */
  readonly status: string;
  readonly entries: readonly GuiEntry[];
  readonly textBytesMax: number;
}

/** A change to the view, pushed to every page. */
export type GuiUpdate =
  | { readonly type: 'view'; readonly view: GuiView }
  | { readonly type: 'entry'; readonly entry: GuiEntry }
  | { readonly type: 'phase'; readonly phase: GuiPhase; readonly status: string }
  | { readonly type: 'members'; readonly members: readonly string[] }
  /** A login that failed: shown next to the form, which stays filled. */
  | { readonly type: 'alert'; readonly message: string };
