/** `@toolboxai/realtime`: the ToolBoxAI Realtime client (README "Front-end developers"). */
export { ToolBoxAIPusher } from './client.js';
export type { AuthHeaders, ConnectionState, ToolBoxAIPusherConfig } from './client.js';
export { AuthRequestError } from './auth.js';
export type { DeliveryStats } from './delivery.js';
export { HistoryRequestError, fetchHistoryPage, historyUrl } from './history.js';
export type { HistoryEvent, HistoryPage } from './history.js';
export type * from './types.js';
export { MAX_DATA_BYTES } from './generated/catalog.js';
export type {
  AgentStatusUpdate,
  AssessmentSubmitted,
  AssignmentPosted,
  CanaryProbe,
  ClassAnnouncement,
  ClassroomActivity,
  ClassroomPresenceChange,
  CollaborationEvent,
  CollaborationStarted,
  ContentGenerationUpdate,
  DashboardMessage,
  DashboardNotification,
  DeliveredEvent,
  EventCatalog,
  HelpRequested,
  LessonProgressShared,
  LessonStarted,
  PerformanceMetrics,
  StudentJoined,
  UserNotification,
} from './generated/catalog.js';
