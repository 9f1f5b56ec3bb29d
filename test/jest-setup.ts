/** jest setupFiles: runs in every test file before it loads. */
import { dropTfjsNodeBanner } from './quiet-tfjs';

dropTfjsNodeBanner(console);
