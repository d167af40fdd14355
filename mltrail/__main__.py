from mltrail.cli import main

main()
