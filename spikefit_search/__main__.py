from spikefit_search.cli import main

main()
