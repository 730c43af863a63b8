#!/usr/bin/env python3
"""Runs every tests/blackbox/test_*.py against a real patd and prints the
closing line 'N passed, N failed'."""
import os
import sys
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)


class Result(unittest.TextTestResult):
    pass


def main():
    # Each argument is a pattern of test files (default: all of them).
    suite = unittest.TestSuite()
    for pattern in sys.argv[1:] or ['test_*.py']:
        suite.addTests(unittest.defaultTestLoader.discover(here, pattern=pattern,
                                                           top_level_dir=here))
    runner = unittest.TextTestRunner(verbosity=2, resultclass=Result, stream=sys.stdout)
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    line = 'blackbox (%s): %d passed, %d failed' % (
        os.environ.get('PATD_TEST_BACKEND', 'sqlite'), passed, failed)
    if skipped:
        line += ', %d skipped' % skipped
    print(line)
    # A skipped test is not a pass: fail the run so nobody counts it.
    sys.exit(0 if failed == 0 and skipped == 0 and result.testsRun > 0 else 1)


if __name__ == '__main__':
    main()
