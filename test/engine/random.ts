// Seeded random numbers for tests, so that a failure reproduces: the engine's own generator.
export { mulberry32 as rng } from '../../engine/src/calibration/seededSampling';
