import { describePatternVectors } from './helpers/pattern-vectors.js';

describePatternVectors('cidr');
