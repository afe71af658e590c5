// Every fuzz category, by name.
import { cache } from './cases/cache.js';
import { checkpoint } from './cases/checkpoint.js';
import { idx } from './cases/idx.js';
import { image } from './cases/image.js';
import { opsCategory } from './cases/ops.js';
import { selftest } from './cases/selftest.js';
import type { Category, CategoryName } from './types.js';

export const CATEGORY_TABLE: Record<CategoryName, Category> = { checkpoint, image, idx, cache, ops: opsCategory, selftest };
