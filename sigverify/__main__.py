import sys

from sigverify.cli.main import main

sys.exit(main())
