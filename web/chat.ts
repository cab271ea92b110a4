/**
 * Chat panel over the SDK's `Meeting` (room messages of type `chat`). Test hooks: `#chat-toggle`,
 * its unread badge `#chat-badge`, the panel `#chat-panel`, messages `.chat-message[data-from]`
 * with `.chat-text`, the form `#chat-form` / `#chat-input`.
 */
import type { ChatMessage, Meeting } from '../client/index.ts';
import { MAX_CHAT_LENGTH } from '../client/index.ts';
import { addControl, errorText, h, sidePanel } from './panels.ts';

/** Mounts the chat button and panel; returns what removes them. */
export function mountChat(meeting: Meeting): () => void {
  let unread = 0;
  const badge = h('span', {
    id: 'chat-badge',
    class: 'badge',
    hidden: true,
    'aria-label': 'unread messages',
  });
  const button = h('button', { id: 'chat-toggle', type: 'button', 'aria-expanded': 'false' }, 'Chat', badge);
  const log = h('ol', { id: 'chat-log', class: 'chat-log', 'aria-live': 'polite' });
  const input = h('input', {
    id: 'chat-input',
    maxlength: MAX_CHAT_LENGTH,
    placeholder: 'Message everyone',
    autocomplete: 'off',
  });
  const send = h('button', { type: 'submit', class: 'primary' }, 'Send');
  const problem = h('p', { class: 'error', hidden: true });
  const form = h('form', { id: 'chat-form', class: 'chat-form' }, input, send);
  const panel = sidePanel('chat-panel', 'Chat', (open) => {
    button.setAttribute('aria-expanded', String(open));
    if (open) {
      setUnread(0);
      input.focus();
    }
  });
  panel.body.append(log, problem, form);
  addControl(button);

  function setUnread(n: number): void {
    unread = n;
    badge.hidden = n === 0;
    badge.textContent = n > 99 ? '99+' : String(n);
  }

  function show(m: ChatMessage): void {
    const at = new Date(m.sentAt);
    const item = h(
      'li',
      { class: m.self ? 'chat-message self' : 'chat-message', 'data-from': m.from },
      h('span', { class: 'chat-name' }, m.self ? 'You' : m.name),
      h(
        'time',
        { class: 'chat-time', datetime: at.toISOString() },
        at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
      ),
      h('p', { class: 'chat-text' }, m.text),
    );
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.append(item);
    if (atBottom || m.self) {
      log.scrollTop = log.scrollHeight;
    }
    if (!m.self && !panel.open) {
      setUnread(unread + 1);
    }
  }

  button.addEventListener('click', () => panel.toggle());
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (text === '') {
      return;
    }
    send.disabled = true;
    problem.hidden = true;
    meeting
      .sendChat(text)
      .then(() => {
        input.value = '';
      })
      .catch((err: unknown) => {
        problem.hidden = false;
        problem.textContent = `Not sent: ${errorText(err)}`;
      })
      .finally(() => {
        send.disabled = false;
        input.focus();
      });
  });
  for (const m of meeting.chatHistory) {
    show(m);
  }
  const off = meeting.on('chat', show);
  return () => {
    off();
    button.remove();
    panel.el.remove();
  };
}
