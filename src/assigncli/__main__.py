from assigncli.cli import main

main()
