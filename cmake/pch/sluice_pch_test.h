// The test binaries' precompiled headers: everything in sluice_pch.h plus GoogleTest and
// GoogleMock, which each test file parses (see cmake/SluicePch.cmake).
#pragma once

#include "sluice_pch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
