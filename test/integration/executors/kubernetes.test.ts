import { kubernetesTarget } from '../../helpers/kubernetesTarget';
import { executorSuite } from './suite';

executorSuite(kubernetesTarget());
