#pragma once
// Status and Result<T> (defined in the public include/sluice/status.h, as the client
// library's API uses them), and the macros that propagate them inside Sluice.

#include "sluice/status.h"

#define SLUICE_CONCAT_INNER_(a, b) a##b
#define SLUICE_CONCAT_(a, b) SLUICE_CONCAT_INNER_(a, b)

// Returns the Status of `expr` from the current function when it is not OK.
#define SLUICE_RETURN_IF_ERROR(expr)                \
  do {                                              \
    ::sluice::Status sluice_status_ = (expr);       \
    if (!sluice_status_.ok()) return sluice_status_; \
  } while (0)

// `lhs = value of expr`, or returns its Status from the current function.
#define SLUICE_ASSIGN_OR_RETURN(lhs, expr) \
  SLUICE_ASSIGN_OR_RETURN_IMPL_(SLUICE_CONCAT_(sluice_result_, __LINE__), lhs, expr)
#define SLUICE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
