#pragma once

#include <napi.h>

namespace cs {
Napi::Value Probe(const Napi::CallbackInfo& info);
}
