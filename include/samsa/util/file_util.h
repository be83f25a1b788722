#pragma once
// write_file_atomically, read_file and remove_tree now live beside the Env
// they go through.
#include "samsa/util/env.h"
