from pipfleet.cli import main

main()
