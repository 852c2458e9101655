from anygram.cli import main

raise SystemExit(main())
