/** Child process hosting a LocalFleet (bench transport --client-processes). */
import { isRecord, serveParent } from './child';
import { LocalFleet, type Fleet, type FleetSpec } from './synthetic-client';

let fleet: Fleet | undefined;

function need(): Fleet {
  if (!fleet) throw new Error('fleet not started');
  return fleet;
}

function asFleetSpec(args: unknown): FleetSpec {
  if (!isRecord(args)) throw new Error('start expects a fleet spec');
  const { coordinator, raw, clientIds, data, verify, chunkSize, phaseTimeoutSec, firstIndex, loadDeltas } = args;
  if (typeof coordinator !== 'string' || (raw !== undefined && typeof raw !== 'string')) throw new Error('fleet spec: bad addresses');
  if (!Array.isArray(clientIds) || !clientIds.every((c): c is string => typeof c === 'string')) throw new Error('fleet spec: clientIds must be strings');
  if (!isRecord(data) || !['height', 'width', 'channels', 'numClasses'].every((k) => typeof data[k] === 'number')) throw new Error('fleet spec: bad data shape');
  if (typeof verify !== 'boolean' || typeof chunkSize !== 'number' || typeof phaseTimeoutSec !== 'number') throw new Error('fleet spec: bad verify/chunkSize/phaseTimeoutSec');
  if (firstIndex !== undefined && typeof firstIndex !== 'number') throw new Error('fleet spec: bad firstIndex');
  if (loadDeltas !== undefined && !(isRecord(loadDeltas) && typeof loadDeltas['slots'] === 'number')) throw new Error('fleet spec: bad loadDeltas');
  return {
    coordinator,
    ...(raw === undefined ? {} : { raw }),
    clientIds,
    data: { height: Number(data['height']), width: Number(data['width']), channels: Number(data['channels']), numClasses: Number(data['numClasses']) },
    verify,
    chunkSize,
    phaseTimeoutSec,
    ...(firstIndex === undefined ? {} : { firstIndex }),
    ...(loadDeltas === undefined ? {} : { loadDeltas: { slots: Number(loadDeltas['slots']) } }),
  };
}

function bytesArg(args: unknown): number {
  if (!isRecord(args) || typeof args['bytes'] !== 'number') throw new Error('expected { bytes: number }');
  return args['bytes'];
}

serveParent(async (op, args) => {
  switch (op) {
    case 'start':
      fleet = await LocalFleet.start(asFleetSpec(args));
      return null;
    case 'awaitTasks':
      return need().awaitTasks();
    case 'download':
      return need().download();
    case 'upload':
      return need().upload();
    case 'rawDownload':
      return need().rawDownload(bytesArg(args));
    case 'rawUpload':
      return need().rawUpload(bytesArg(args));
    case 'serve':
      return need().serve();
    case 'close':
      await fleet?.close();
      fleet = undefined;
      return null;
    default:
      throw new Error(`unknown op ${op}`);
  }
});
