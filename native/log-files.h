#pragma once

#include <napi.h>

namespace cs {
Napi::Value OpenLogFile(const Napi::CallbackInfo& info);
Napi::Value RotateLogFile(const Napi::CallbackInfo& info);
}  // namespace cs
