import sys

from scar_operator.cli import main

sys.exit(main())
