import { dockerTarget } from '../../helpers/dockerTarget';
import { executorSuite } from './suite';

executorSuite(dockerTarget);
