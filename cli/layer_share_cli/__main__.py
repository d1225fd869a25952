import sys

from layer_share_cli.main import main

sys.exit(main())
