export { RoomRole } from './RoomRole.ts';
export { Membership } from './Membership.ts';
