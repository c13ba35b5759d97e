/** How the verbs that show what happened write times and stages for a person to read. */
import { describeStage, type Stage } from '../envelope/status-machine.js';
import { formatEdxmlTimestamp } from '../envelope/values.js';

/** A time as a Vietnamese văn thư reads it: yyyy/MM/dd HH:mm:ss, UTC+7. */
export function localTime(iso: string): string {
  return formatEdxmlTimestamp(new Date(iso));
}

/** "arrived (01)", "bounced", ...; an unknown stage as it is. */
export function stageWords(stage: string): string {
  return describeStage(stage as Stage) ?? stage;
}
