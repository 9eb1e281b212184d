from tracesink.cli import main

raise SystemExit(main())
