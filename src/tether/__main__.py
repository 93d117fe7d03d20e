from tether.cli.startup import main

main()
