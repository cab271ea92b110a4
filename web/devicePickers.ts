/**
 * Device choices of the page: the `<select>`s of the pre-join screen and of the in-call device panel,
 * and the choices remembered in localStorage (`switchboard.camera`, `.microphone`, `.speaker`).
 */
import { listDevices, setSpeaker } from '../client/index.ts';
import type { DeviceList } from '../client/index.ts';

export type DeviceRole = 'camera' | 'microphone' | 'speaker';

const KEY = (role: DeviceRole) => `switchboard.${role}`;

/** The remembered device id of `role`, '' for the default. */
export function savedDevice(role: DeviceRole): string {
  try {
    return localStorage.getItem(KEY(role)) ?? '';
  } catch {
    return '';
  }
}

export function saveDevice(role: DeviceRole, deviceId: string): void {
  try {
    localStorage.setItem(KEY(role), deviceId);
  } catch {
    // storage refused (private mode): the choice lasts for this page only
  }
}

/** Fills a select with devices (labelled "Camera 1"… while the browser hides labels), keeping `chosen`. */
export function fillSelect(
  select: HTMLSelectElement,
  devices: MediaDeviceInfo[],
  chosen: string,
  noun: string,
): void {
  select.replaceChildren(
    ...devices.map(
      (d, i) => new Option(d.label || `${noun} ${i + 1}`, d.deviceId, false, d.deviceId === chosen),
    ),
  );
  if (devices.length === 0) {
    select.append(new Option(`No ${noun.toLowerCase()} found`, ''));
  }
  select.disabled = devices.length <= 1;
}

/** The three selects, refilled from `listDevices`; a `null` select is skipped. */
export async function fillPickers(
  pickers: Record<DeviceRole, HTMLSelectElement | null>,
  chosen: Record<DeviceRole, string>,
): Promise<DeviceList> {
  const list = await listDevices();
  const rows: [DeviceRole, MediaDeviceInfo[], string][] = [
    ['camera', list.cameras, 'Camera'],
    ['microphone', list.microphones, 'Microphone'],
    ['speaker', list.speakers, 'Speaker'],
  ];
  for (const [role, devices, noun] of rows) {
    const select = pickers[role];
    if (select) {
      fillSelect(select, devices, chosen[role], noun);
    }
  }
  return list;
}

/** Sends the audio of every remote tile under `root` to the speaker `deviceId` ('' = default). */
export async function applySpeaker(root: ParentNode, deviceId: string): Promise<void> {
  await Promise.all(
    [...root.querySelectorAll<HTMLVideoElement>('.tile.remote video')].map((v) =>
      setSpeaker(v, deviceId).catch(() => false),
    ),
  );
}

/** The track's device id (what a picker shows as chosen), '' when unknown. */
export function deviceIdOf(track: MediaStreamTrack | undefined): string {
  return track?.getSettings().deviceId ?? '';
}
