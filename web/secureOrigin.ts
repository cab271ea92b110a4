/**
 * Why the page can only watch: browsers give camera and microphone to secure pages only (https://, or
 * localhost), so a page opened as http://<LAN address> joins without them. Said in words at the top of
 * the page, before any join, instead of a bare "watching only".
 */

/** The notice's text for a page at `host` (`location.host`). */
export function insecureOriginText(host: string): string {
  return (
    `Camera and microphone need a secure page (https:// or localhost). You are on http://${host}; ` +
    'you can watch but not send. Start the server with --tls-self-signed or put it behind HTTPS ' +
    '(docs/deployment.md, "HTTPS without a proxy").'
  );
}

/** Shows `#secure-origin-notice` above the page's content when it is not a secure context. */
export function showSecureOriginNotice(): void {
  if (window.isSecureContext || document.getElementById('secure-origin-notice')) {
    return;
  }
  const notice = document.createElement('p');
  notice.id = 'secure-origin-notice';
  notice.className = 'notice';
  notice.setAttribute('role', 'note');
  notice.textContent = insecureOriginText(location.host);
  document.querySelector('main')?.prepend(notice);
}
