export {
  RecordingManager,
  safeName,
  type RecordingManagerOptions,
  type StartRequest,
} from './RecordingManager.ts';
export { Recorder, type RecorderOptions, type StopReason } from './Recorder.ts';
export { RecordingFile, exclusiveOpen, type FileOpener, type RecordingFileHandle } from './RecordingFile.ts';
