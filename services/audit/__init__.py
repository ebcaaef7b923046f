"""The integrity audit: reads every service's state and checks that money and stock are conserved."""
