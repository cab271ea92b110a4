/**
 * The people panel: everyone in the room with their microphone, camera and screen state, and for the
 * host, per participant Mute (microphone) and Remove, and Lock room. Test hooks: `#people-toggle`,
 * `#people-panel`, rows `.person[data-uid]` with `data-audio` / `data-video` = `on` | `muted` | `none`,
 * `data-role`, `.mute-audio` and `.kick` buttons, `#lock-room`, `#room-locked`.
 */
import type { Meeting, MemberView } from '../client/index.ts';
import { addControl, errorText, h, sidePanel } from './panels.ts';

export interface PeopleOptions {
  /** The page's camera and microphone stream, to follow a host's mute of our microphone. */
  localStream(): MediaStream | null;
  /** Our microphone was muted by the host: the page refreshes its own mute button. */
  onLocalMuted(): void;
  /** A line for the page's status bar. */
  status(text: string): void;
}

/** Mounts the people button and panel; returns what removes them. */
export function mountParticipants(meeting: Meeting, options: PeopleOptions): () => void {
  const count = h('span', { class: 'count' });
  const button = h(
    'button',
    { id: 'people-toggle', type: 'button', 'aria-expanded': 'false' },
    'People ',
    count,
  );
  const locked = h(
    'p',
    { id: 'room-locked', class: 'room-locked', hidden: true },
    'The room is locked: nobody new can join.',
  );
  const lock = h('button', { id: 'lock-room', type: 'button', hidden: true }, 'Lock room');
  const list = h('ul', { id: 'people-list', class: 'people-list' });
  const problem = h('p', { class: 'error', hidden: true });
  const panel = sidePanel('people-panel', 'People', (open) =>
    button.setAttribute('aria-expanded', String(open)),
  );
  panel.body.append(locked, list, problem, lock);
  addControl(button);

  function fail(what: string, err: unknown): void {
    problem.hidden = false;
    problem.textContent = `Could not ${what}: ${errorText(err)}`;
  }

  function act(what: string, run: () => Promise<unknown>, el: HTMLButtonElement): void {
    el.disabled = true;
    problem.hidden = true;
    run()
      .catch((err: unknown) => fail(what, err))
      .finally(() => {
        el.disabled = false;
      });
  }

  function row(m: MemberView): HTMLLIElement {
    const state = (has: boolean, muted: boolean): string => (!has ? 'none' : muted ? 'muted' : 'on');
    const audio = state(m.audio, m.audioMuted);
    const video = state(m.video, m.videoMuted);
    const li = h(
      'li',
      { class: 'person', 'data-uid': m.uid, 'data-role': m.role, 'data-audio': audio, 'data-video': video },
      h('span', { class: 'person-name' }, m.self ? `${m.name} (you)` : m.name),
      m.role === 'host' ? h('span', { class: 'tag host' }, 'host') : '',
      m.screen ? h('span', { class: 'tag screen' }, 'sharing') : '',
      h('span', { class: `media mic ${audio}`, title: `Microphone ${audio === 'on' ? 'on' : audio}` }),
      h('span', { class: `media cam ${video}`, title: `Camera ${video === 'on' ? 'on' : video}` }),
    );
    if (meeting.isHost && !m.self) {
      const mute = h(
        'button',
        { type: 'button', class: 'mute-audio small', disabled: audio !== 'on' },
        'Mute',
      );
      mute.addEventListener('click', () => act(`mute ${m.name}`, () => meeting.mute(m.uid, 'audio'), mute));
      const kick = h('button', { type: 'button', class: 'kick small danger' }, 'Remove');
      const host = meeting.peers.find((p) => p.uid === meeting.uid)?.name || 'the host';
      kick.addEventListener('click', () =>
        act(
          `remove ${m.name}`,
          () => meeting.kick(m.uid, `${host} (host) removed you from the meeting`),
          kick,
        ),
      );
      li.append(h('span', { class: 'host-controls' }, mute, kick));
    }
    return li;
  }

  /** The host muted our microphone: follow it locally, so the page's own button says so. */
  function followRemoteMute(self: MemberView | undefined): void {
    // On the change only: the roster lags our own unmute.
    const muted = self?.audioMuted === true;
    const changed = muted && !selfMuted;
    selfMuted = muted;
    const track = options.localStream()?.getAudioTracks()[0];
    if (changed && track?.enabled) {
      track.enabled = false;
      options.onLocalMuted();
      // After the page's own roster line, which the same roster change rewrites.
      setTimeout(() => options.status('The host muted your microphone'), 0);
    }
  }

  let selfMuted = false;

  function render(): void {
    const members = meeting.members();
    count.textContent = String(members.length);
    list.replaceChildren(...members.map(row));
    const room = meeting.room;
    locked.hidden = room?.locked !== true;
    lock.hidden = !meeting.isHost;
    lock.textContent = room?.locked ? 'Unlock room' : 'Lock room';
    lock.setAttribute('aria-pressed', String(room?.locked === true));
    followRemoteMute(members.find((m) => m.self));
  }

  button.addEventListener('click', () => panel.toggle());
  lock.addEventListener('click', () => {
    const want = meeting.room?.locked !== true;
    act(want ? 'lock the room' : 'unlock the room', () => meeting.lock(want), lock);
  });
  const offs = [
    meeting.on('peers', render),
    meeting.on('role', render),
    meeting.on('room', render),
    meeting.client.on('participants', render),
  ];
  render();
  return () => {
    for (const off of offs) {
      off();
    }
    button.remove();
    panel.el.remove();
  };
}
