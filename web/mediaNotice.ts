/**
 * Why we joined without a camera or microphone, in words, shown in the call until we leave: the status
 * line ("Connected: …") is replaced by the next roster change, and "watching only" alone leaves a user
 * guessing. Nothing is said when it was our choice (`?publish=0`) or when the insecure-origin notice
 * (secureOrigin.ts) already says why.
 */

/** What getUserMedia's error means for the user (its `name`: NotAllowedError, NotFoundError, …). */
function reasonOf(err: Error | undefined): 'blocked' | 'missing' | 'busy' | 'other' {
  switch (err?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'blocked';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'missing';
    case 'NotReadableError':
    case 'AbortError':
      return 'busy';
    default:
      return 'other';
  }
}

/**
 * The notice for a call that sends `hasAudio` / `hasVideo`, after opening the devices failed with
 * `errors` (openMedia's, first attempt first); null when nothing is missing.
 */
export function missingMediaText(
  hasAudio: boolean,
  hasVideo: boolean,
  errors: readonly Error[],
): string | null {
  if (hasAudio && hasVideo) {
    return null;
  }
  // The last attempt's error is the missing kind's (openMedia tries both, then audio, then video).
  const reason = reasonOf(errors.at(-1));
  const what = !hasAudio && !hasVideo ? 'camera and microphone' : hasAudio ? 'camera' : 'microphone';
  const consequence =
    !hasAudio && !hasVideo
      ? 'you are watching only: the others neither see nor hear you.'
      : hasAudio
        ? 'the others hear you but do not see you.'
        : 'the others see you but do not hear you.';
  const cause = {
    blocked: `The browser blocks your ${what} for this page`,
    missing: `No ${what} was found`,
    busy: `Your ${what} could not be started (another application may be using it)`,
    other: `Your ${what} could not be opened`,
  }[reason];
  const fix =
    reason === 'blocked'
      ? ` Allow ${what === 'camera' || what === 'microphone' ? 'it' : 'them'} from the icon in the address bar, then leave and join again.`
      : reason === 'busy'
        ? ' Close the other application, then leave and join again.'
        : '';
  return `${cause}, so ${consequence}${fix}`;
}

/** Shows `text` as `#media-notice` above the call (null removes it). */
export function showMediaNotice(text: string | null): void {
  let notice = document.getElementById('media-notice');
  if (text === null) {
    notice?.remove();
    return;
  }
  if (!notice) {
    notice = document.createElement('p');
    notice.id = 'media-notice';
    notice.className = 'notice';
    notice.setAttribute('role', 'note');
    document.querySelector('main')?.prepend(notice);
  }
  notice.textContent = text;
}
