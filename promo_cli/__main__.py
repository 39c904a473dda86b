from promo_cli.cli import main

main()
