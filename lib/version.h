/*
 * version - the one version string of all three programs (-V).
 */
#ifndef RECALL_VERSION_H
#define RECALL_VERSION_H

#define RECALL_VERSION "0.1.0"

#endif
