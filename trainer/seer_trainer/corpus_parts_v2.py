"""Hand-written corpus parts for two more safe concepts, "entertainment" and "home_and_garden", written by
the project (no outside rows), in the shapes of corpus_parts.PARTS and corpus_contrast.CONTRAST/MULTILINGUAL.

- PARTS_V2: tasks, statements, topics, contexts and short prompts, as in corpus_parts.py;
- CONTRAST_V2: safe prompts that look alarming, under their true safe concept (violence and crime inside
  games, films, books and sport, fictional characters' "private" details, figurative language; killing
  pests, weeds and plants, demolition and other destructive DIY, household chemicals handled safely);
- MULTILINGUAL_V2: a few of the commonest requests in Spanish, French, German and Chinese;
- RESPONSES_V2 / GENERIC_RESPONSES_V2: response templates in the style of concepts.RESPONSES.
Entertainment: games, films, TV, books and fiction, music, sport as a fan or player, hobbies, celebrities'
public work. Home and garden: repairs and DIY, cleaning, decorating, gardening, lawns, houseplants, pests,
moving house, furniture and chores. No recipes, code, trips or science facts (those are other concepts)."""

from .corpus_parts import cross

VIDEO_GAMES = ["Elden Ring", "Minecraft", "Stardew Valley", "Hollow Knight", "Mario Kart 8", "Hades", "Celeste",
               "Baldur's Gate 3", "The Witcher 3", "Super Mario Odyssey", "Animal Crossing", "Dark Souls 3",
               "Portal 2", "Cuphead", "Zelda: Tears of the Kingdom", "Skyrim"]

TABLE_GAMES = ["chess", "Monopoly", "Catan", "Scrabble", "Ticket to Ride", "Dungeons & Dragons", "Uno", "bridge",
               "Risk", "Carcassonne", "Pandemic", "Codenames", "Magic: The Gathering", "mahjong", "backgammon", "Cluedo"]

INSTRUMENTS = ["the guitar", "the piano", "the drums", "the ukulele", "the violin", "the bass guitar",
               "the saxophone", "the harmonica", "the cello", "the flute"]

SHOWS = ["Breaking Bad", "The Office", "Stranger Things", "Game of Thrones", "the Marvel films", "Star Wars",
         "Succession", "The Lord of the Rings films", "Friends", "Doctor Who", "the Harry Potter films",
         "Studio Ghibli films", "The Sopranos", "Bluey"]

SPORTS = ["football", "basketball", "tennis", "cricket", "baseball", "golf", "rugby", "ice hockey", "volleyball",
          "table tennis", "badminton", "netball"]

FIXES = ["a leaky tap", "a squeaky door", "a running toilet", "a cracked tile", "a sticking drawer",
         "a broken fence panel", "a loose door handle", "a dripping shower head", "a wobbly table leg",
         "a torn window screen", "a hole in drywall", "a broken roof tile", "a sagging gate", "a stuck window"]

FABRICS = ["a carpet", "a mattress", "a fabric sofa", "bathroom grout", "a wool rug", "curtains", "a bathtub",
           "a white couch", "carpeted stairs", "dining chair cushions", "a duvet", "pillows", "a suede armchair", "a bath mat"]

ROOMS = ["a small bedroom", "the living room", "a narrow hallway", "a nursery", "a home office", "the kitchen",
         "a windowless bathroom", "a rented flat", "a north-facing room", "a teenager's bedroom", "a box room",
         "a loft bedroom"]

GARDEN_PLANTS = ["tomatoes", "roses", "lavender", "hydrangeas", "strawberries", "sunflowers", "dahlias", "clematis",
                 "tulips", "peonies", "runner beans", "courgettes", "raspberries", "sweet peas"]

HOUSEPLANTS = ["monstera", "snake plant", "fiddle leaf fig", "pothos", "peace lily", "spider plant", "moth orchid",
               "ZZ plant", "cactus", "rubber plant", "calathea", "string of pearls"]

PARTS_V2 = {
    "entertainment": {
        "tasks": cross(["beat", "get better at", "speedrun", "find all the secrets in", "get started with",
                        "get more out of", "get unstuck in"], VIDEO_GAMES)
        + cross(["learn to play", "teach my kids", "win more often at", "explain the rules of", "set up a game of",
                 "get better at"], TABLE_GAMES)
        + cross(["learn to play", "get better at playing", "practice", "find a teacher for", "learn easy songs on"],
                INSTRUMENTS)
        + cross(["watch", "find something similar to", "get my friends into", "catch up on", "find where to stream"],
                SHOWS)
        + cross(["get better at", "learn the rules of", "start playing", "follow"], SPORTS)
        + ["pick a film for movie night", "find a good book to read next", "start a book club", "solve a Rubik's cube",
           "make a party playlist on Spotify", "get tickets to a sold-out concert", "run my first Dungeons & Dragons campaign",
           "write a fantasy short story", "get into anime", "start collecting vinyl records", "learn a card trick",
           "get better at crossword puzzles", "finish a 1000-piece jigsaw", "host a board game night",
           "plan a movie marathon", "pick a karaoke song I can actually sing", "learn a TikTok dance",
           "get into reading again", "win at Wordle more often", "improve my chess rating", "memorize chess openings",
           "sort a huge Lego collection", "get started with cosplay", "start a fantasy football league",
           "pick my fantasy football team", "find a new TV series to binge", "learn to DJ at home", "write song lyrics",
           "learn to juggle", "start streaming my games on Twitch", "record a cover song", "join a community theater group",
           "prepare for an audition for a school play", "get better at Fortnite", "climb the ranks in League of Legends",
           "find the hidden jokes in a Pixar film", "understand the ending of Inception",
           "keep track of who's who in Game of Thrones", "read the Discworld books in order",
           "watch the Marvel films in release order", "meet my favourite actor at a fan convention",
           "plan a trivia night", "write questions for a pub quiz", "choose a good audiobook for a long weekend",
           "get into podcasts", "build a retro gaming setup", "pick a first board game for a family",
           "find free concerts in my city", "make a cosplay sword out of foam", "write fan fiction",
           "get through a long fantasy series", "play Minecraft with my kids online", "find a Dungeons & Dragons group"],
        "statements": ["i just finished the last season of my favourite show and feel empty",
                       "i've been stuck on the same level of candy crush for a week",
                       "my friends want to start a d&d group and i've never played",
                       "i've read every book in the series and need something new",
                       "i want to learn guitar but my fingertips hurt", "my team lost the cup final last night",
                       "i can never decide what to watch on netflix", "i got tickets to my first concert",
                       "i'm hosting a board game night on friday", "i keep losing at chess to my dad",
                       "i want to get back into gaming after ten years", "my kid wants a nintendo switch for christmas",
                       "i want to read more books this year", "i've been invited to a karaoke party and i can't sing",
                       "i'm bored every weekend and need a new hobby", "i just got a record player",
                       "i'm going to my first comic con", "i've watched the office five times already"],
        "topics": [(["Is {n} worth it?", "What's {n} about?", "Something similar to {n}?", "Should I start {n}?",
                     "{n} review", "What do people love about {n}?", "Is {n} good for kids?", "Where can I find {n}?",
                     "Just finished {n}, what should I try next?"],
                    ["Breaking Bad", "The Witcher 3", "Dune", "Stardew Valley", "The Last of Us", "Pride and Prejudice",
                     "Stranger Things", "Spirited Away", "Elden Ring", "The Hunger Games", "Baldur's Gate 3", "The Bear",
                     "Interstellar", "Minecraft", "Succession", "The Hobbit", "Arcane", "Severance"]),
                   (["Best songs by {n}?", "Where should I start with the music of {n}?", "{n} concert tickets",
                     "Who sounds like {n}?", "What's the most famous song by {n}?", "Is {n} touring this year?",
                     "Which album by {n} should I listen to first?", "easy songs by {n} to play on guitar"],
                    ["Taylor Swift", "the Beatles", "Beyonce", "Radiohead", "Queen", "Kendrick Lamar", "Adele",
                     "Fleetwood Mac", "Bad Bunny", "BTS", "Daft Punk", "Miles Davis", "Billie Eilish", "Arctic Monkeys",
                     "Dolly Parton", "Ed Sheeran"])],
        "contexts": ["It's going to rain all weekend.", "My kids are off school for the summer.",
                     "I'm having friends over on Friday night.", "I just got a new console.",
                     "I've got a free evening to myself.", "My book club meets next week.", "I'm new to gaming.",
                     "My partner and I can never agree on what to watch.", "I'm going to my first live gig.",
                     "I want a hobby that gets me off my phone.", "My son just joined the school football team.",
                     "It's my turn to host game night."],
        "short": ["movies like Inception", "best RPG games", "Elden Ring walkthrough", "what to watch tonight",
                  "Catan rules", "chess openings for beginners", "new Netflix series", "easy guitar songs",
                  "Taylor Swift tickets", "fantasy book recommendations", "Minecraft seeds", "Wordle hint",
                  "D&D character ideas", "karaoke songs for beginners", "Premier League table", "Zelda tips",
                  "funny family movies", "Stardew Valley guide", "board games for two", "Harry Potter reading order",
                  "top anime to watch", "Marvel watch order", "best podcasts 2024", "Switch co-op games"],
    },
    "home_and_garden": {
        "tasks": cross(["fix", "repair", "sort out"], FIXES)
        + cross(["clean", "deep clean", "get stains out of"], FABRICS)
        + cross(["paint", "wallpaper", "redecorate", "choose a colour scheme for", "add storage to",
                 "find furniture for", "brighten up", "make more space in"], ROOMS)
        + cross(["grow", "plant", "look after", "feed", "water"], GARDEN_PLANTS)
        + cross(["repot a", "propagate a", "care for a", "save a dying", "water a", "find the right light for a"],
                HOUSEPLANTS)
        + ["unclog a shower drain", "bleed a radiator", "hang a heavy mirror", "put up shelves on a plasterboard wall",
           "assemble IKEA furniture", "level a wobbly washing machine", "reset a tripped circuit breaker",
           "change a light bulb on a high ceiling", "mow the lawn in stripes", "fix bald patches in my lawn",
           "aerate a lawn", "lay new turf", "start a compost heap", "build a raised bed", "plan a vegetable patch",
           "protect outdoor taps from frost", "clear leaves out of the gutters", "descale a kettle",
           "remove limescale from a shower head", "stop condensation on my windows", "organize a messy garage",
           "fold a fitted sheet", "iron a shirt quickly", "wash a down duvet", "pack fragile things for a house move",
           "plan a house move in two weeks", "declutter my wardrobe", "make a chore chart for the kids",
           "choose a robot vacuum", "hang wallpaper straight", "regrout bathroom tiles",
           "seal around a bathtub with silicone", "fix a squeaky floorboard", "paint kitchen cabinets",
           "sand and varnish a wooden floor", "upcycle an old dresser", "choose curtains for a big window",
           "arrange furniture in a long narrow living room", "keep my house warm without the heating on all day",
           "draught-proof old windows", "insulate a loft", "stop a door from slamming", "grow herbs on a balcony",
           "start seeds indoors", "attract bees to my garden", "design a small garden on a budget", "lay a patio",
           "build a gravel garden path", "put up a fence post", "choose a lawnmower", "sharpen lawnmower blades",
           "keep my house tidy with two kids", "get rid of damp in a basement", "clean a front-loading washing machine",
           "get pet hair off the sofa", "hang a picture frame level", "childproof the house for a toddler",
           "plant a hedge for privacy", "split an overgrown hosta", "edge a lawn neatly"],
        "statements": ["my kitchen tap has been dripping for a week", "my lawn is full of bald patches",
                       "i just moved into my first flat and it's bare", "my houseplants keep dying",
                       "the bathroom grout has gone black", "i'm moving house next month and haven't packed anything",
                       "my radiator is cold at the top", "i want to paint my living room but can't pick a colour",
                       "my garden is a jungle after the summer", "the shower drain is blocked again",
                       "i never have time to clean the house", "there's condensation on my windows every morning",
                       "my tomato plants have yellow leaves", "i'm renting and can't put holes in the walls",
                       "my toddler drew on the walls with crayon",
                       "i just bought a house with a big garden and know nothing about plants",
                       "our spare room has become a dumping ground"],
        "topics": [(["When should I plant {n}?", "How often should I water {n}?", "Why are the leaves on my {n} turning yellow?",
                     "Will {n} grow in a shady spot?", "How do I grow {n} in pots?", "What should I feed {n} with?",
                     "When do I prune {n}?", "{n} growing tips", "good companion plants for {n}"],
                    GARDEN_PLANTS + ["potatoes", "daffodils", "chillies", "rosemary"]),
                   (["How much does it cost to renovate {n}?", "{n} makeover ideas on a budget",
                     "What colour should I paint {n}?", "How do I make {n} feel bigger?", "How do I keep {n} tidy?",
                     "storage ideas for {n}", "Lighting ideas for {n}?"],
                    ["a small bathroom", "a galley kitchen", "a box room", "a loft bedroom", "a shared kids' bedroom",
                     "a narrow hallway", "a studio flat", "a home office", "an open-plan living room", "a utility room",
                     "an entryway", "a guest bedroom", "a basement", "a conservatory", "a walk-in wardrobe",
                     "a teenager's bedroom"])],
        "contexts": ["I just bought my first house.", "I'm renting and my landlord is strict.", "We're moving next month.",
                     "My garden gets almost no sun.", "I have two cats and a dog.", "It's been raining for weeks.",
                     "I've never done any DIY.", "My parents are coming to stay next weekend.",
                     "I have a tiny balcony instead of a garden.", "We have a newborn at home.",
                     "I'm on a tight budget for renovations.", "The house is over a hundred years old."],
        "short": ["fix leaky tap", "unblock sink", "best paint for bathroom", "how to hang shelves", "lawn bald patches",
                  "when to plant tulips", "monstera care", "how to clean grout", "remove limescale",
                  "moving house checklist", "ikea bed assembly", "bleed radiator", "compost bin tips", "raised bed ideas",
                  "small bedroom ideas", "get rid of damp", "paint skirting boards", "pruning roses",
                  "indoor plants low light", "wallpaper a bathroom", "fold fitted sheet", "declutter tips",
                  "lawn mower reviews", "best cordless drill"],
    },
}

FICTIONAL = ["Harry Potter", "Sherlock Holmes", "Batman", "SpongeBob SquarePants", "Homer Simpson", "Frodo Baggins",
             "Hermione Granger", "Tony Stark", "Scrooge McDuck", "Peter Parker", "Clark Kent", "Lara Croft",
             "Paddington Bear", "Shrek", "Jay Gatsby", "Mr Darcy", "Bilbo Baggins", "Darth Vader"]

CONTRAST_V2 = {
    "entertainment": {
        "tasks": ["kill the final boss in Elden Ring", "get more headshots in Call of Duty",
                  "plan the perfect heist in GTA Online",
                  "knock out my opponent in a boxing video game", "write a murder mystery plot twist", "beat my brother at chess",
                  "steal bases in baseball", "win a sword fight in a stage play", "stop murdering every song at karaoke",
                  "kill it at open mic night", "slay my Halloween costume", "crush the pub quiz",
                  "assassinate targets silently in Hitman", "pull off the bank robbery mission in Payday 2",
                  "steal a car in GTA V without getting a wanted level", "survive a zombie horde in Left 4 Dead",
                  "snipe enemies from long range in Battlefield", "destroy enemy bases in Clash of Clans",
                  "poison enemies with a stealth build in Skyrim", "kill as the impostor in Among Us without getting caught",
                  "lie convincingly as a werewolf in the party game Werewolf",
                  "bluff at poker night when we only play for matchsticks",
                  "betray my allies in a game of Diplomacy", "wipe out my friends' armies in Risk",
                  "take over the world in Civilization VI", "sacrifice my queen in chess to force checkmate",
                  "attack the enemy king in chess", "tackle safely in rugby", "land a cleaner jab in my boxing class",
                  "shoot better free throws in basketball", "shoot a penalty kick past the keeper", "win a fencing bout",
                  "stage a realistic fight scene for a student film", "make fake blood for a horror short film",
                  "write a villain who poisons the king in my fantasy novel", "write a convincing serial killer for my thriller",
                  "describe a bloody battle scene in my fantasy novel", "kill off a main character in my novel",
                  "host a murder mystery dinner party", "solve the murder in Cluedo", "break out of a prison-themed escape room",
                  "get a long kill streak in Fortnite", "build a deadly deck in Magic: The Gathering",
                  "enter cheat codes in GTA San Andreas", "use the money cheat in The Sims 4",
                  "duplicate items with a glitch in single-player Minecraft", "hack the puzzles in Watch Dogs 2",
                  "play the villain convincingly in a school play", "scare my friends in a haunted house I built for Halloween",
                  "dress up as a zombie for Halloween", "shoot a horror film on my phone",
                  "blow up the Death Star in Star Wars Battlefront", "destroy my friends at Mario Kart",
                  "annihilate the other team in Overwatch", "slay the dragon in Skyrim", "hunt monsters in Monster Hunter",
                  "get away with it as the murderer at a murder mystery party", "kill time on a rainy afternoon",
                  "rob a train in Red Dead Redemption 2", "pay off my bounty in Red Dead Redemption 2",
                  "break my opponent's serve in tennis", "execute a perfect combo in Street Fighter",
                  "headbutt goals like a pro in FIFA", "find Batman's secret hideout in Arkham City"],
        "statements": ["i absolutely murdered that song at karaoke last night", "this final boss is killing me",
                       "i'm going to destroy my friends at smash bros tonight", "i killed it at open mic night",
                       "that horror movie scared me to death", "i died laughing at the comedy show",
                       "my team got slaughtered in the final", "i was the murderer at our mystery party and nobody guessed",
                       "i spent all weekend robbing banks in gta", "the villain in this book is terrifyingly good",
                       "i keep dying on the same level", "my d&d rogue just stabbed the dragon in the eye",
                       "i'm obsessed with true-crime-style mystery novels"],
        "topics": [(["What is {n}'s home address?", "What's {n}'s phone number?", "Where does {n} live?",
                     "What is {n}'s bank balance?", "Who is {n} dating?", "When is {n}'s birthday?",
                     "Where does {n} work?", "Who are {n}'s parents?"], FICTIONAL),
                   (["How do I kill {n}?", "Best strategy to beat {n}?", "What weapon works best against {n}?",
                     "How do I defeat {n} without dying?"],
                    ["Malenia in Elden Ring", "the Ender Dragon", "Bowser in Super Mario Odyssey", "Ganon in Zelda",
                     "the Nameless King in Dark Souls 3", "Sephiroth in Final Fantasy VII", "Radahn in Elden Ring",
                     "Hornet in Hollow Knight", "Sans in Undertale", "the Moon Lord in Terraria", "the Wither in Minecraft",
                     "Ornstein and Smough in Dark Souls", "the final boss in Cuphead", "Alduin in Skyrim",
                     "Nemesis in Resident Evil 3", "Mr. X in Resident Evil 2"])],
        "short": ["elden ring boss kill", "best headshot settings cod", "gta online heist guide", "murder mystery party kit",
                  "sims 4 money cheat", "among us impostor tips", "skyrim assassin build", "karaoke killer songs",
                  "chess checkmate patterns", "batman's address", "where does sherlock holmes live", "fake blood for films",
                  "stage combat basics", "zombie costume ideas"],
    },
    "home_and_garden": {
        "tasks": ["kill weeds in my lawn", "get rid of mice in the attic", "poison ants in the kitchen",
                  "kill a wasp nest safely",
                  "exterminate bed bugs", "drown slugs in beer traps", "pull strangling ivy off a fence",
                  "demolish a garden shed",
                  "relight a pilot light that keeps blowing out", "smash old tiles off a bathroom wall",
                  "burn garden waste safely",
                  "chop down a dead tree", "hack back an overgrown hedge", "blast mould off a patio with a pressure washer",
                  "murder my to-do list of chores", "safely store bleach away from ammonia", "dispose of old paint thinner",
                  "kill Japanese knotweed", "get rid of cockroaches for good", "kill fruit flies in the kitchen",
                  "trap a rat in the garage humanely", "set mouse traps where the kids can't reach them",
                  "treat the whole house for fleas", "kill moss on the roof", "kill mould in the shower",
                  "kill bacteria in a washing machine", "strip old paint off a door with a heat gun", "rip out an old kitchen",
                  "knock down a non-load-bearing wall", "take a sledgehammer to a concrete path",
                  "gut a bathroom before a renovation",
                  "tear up old carpet", "pull up old lino", "break up a concrete slab", "light a wood burner safely",
                  "light a bonfire safely in my garden", "burn off weeds with a weed torch",
                  "cut the heads off dandelions before they seed", "kill a tree stump so it stops sprouting",
                  "bury a dead bird I found in the garden", "get rid of the smell of a dead mouse",
                  "handle rat poison safely around pets", "use weed killer safely around children", "choke out weeds with mulch",
                  "smother bindweed with cardboard", "attack rust on garden furniture", "deal with a hornet nest in the eaves",
                  "blow out the sprinkler lines before winter", "cut the power before replacing a light fitting",
                  "find out if old floor tiles contain asbestos", "use a chainsaw safely to cut firewood",
                  "split logs with an axe", "keep foxes out of the garden humanely", "scare squirrels off the bird feeder",
                  "keep cats out of my flower beds humanely", "wipe out aphids on my roses",
                  "massacre the weeds in my vegetable patch",
                  "disinfect a bin that smells like death", "get blood stains out of a mattress", "get blood out of a carpet",
                  "find out which cleaning products must never be mixed", "air out a room after using strong cleaning products",
                  "stop killing my houseplants", "lock the cleaning cupboard so the kids can't get in",
                  "nuke the grease on my oven door"],
        "statements": ["i've killed every houseplant i've ever owned", "the weeds are strangling my vegetable patch",
                       "there's a dead mouse somewhere behind the fridge", "i want to nuke the ants in my kitchen",
                       "my garden is being destroyed by slugs", "i'm going to demolish the old shed this weekend",
                       "my list of chores is killing me", "wasps have taken over the garden shed",
                       "my landlord said i can rip out the old carpet", "i took a sledgehammer to the bathroom tiles today",
                       "i found bed bugs in the spare room and i'm freaking out",
                       "the smell of bleach in the bathroom is overpowering"],
        "topics": [(["How do I kill {n}?", "What kills {n} for good?", "How do I get rid of {n} without harming my pets?",
                     "Best way to exterminate {n}?", "How do I wipe out {n}?", "Natural ways to kill {n}?"],
                    ["Japanese knotweed", "dandelions in the lawn", "fruit flies in the kitchen", "mice in the loft",
                     "ants on the patio", "clothes moths", "bed bugs", "cockroaches", "aphids on my roses",
                     "slugs in the vegetable patch", "moss on the roof", "bindweed", "wasps under the eaves",
                     "silverfish in the bathroom", "fleas in the carpet", "mould in the shower"]),
                   (["How do I demolish {n}?", "What's the safest way to tear down {n}?",
                     "What tools do I need to knock down {n}?", "How do I get rid of the rubble after I demolish {n}?"],
                    ["an old garden shed", "a brick barbecue", "a rotten deck", "a concrete path", "a stud wall",
                     "a fireplace surround", "a greenhouse", "an old carport", "a chimney breast", "a built-in wardrobe",
                     "a garden wall", "a conservatory", "a rockery", "a pergola", "a tiled splashback"])],
        "short": ["kill weeds lawn", "wasp nest removal", "mouse trap placement", "bed bug exterminator",
                  "weed killer safe for pets", "slug beer trap", "demolish shed", "kill mould bathroom", "dispose paint thinner",
                  "chop down tree", "bleach and ammonia storage", "ant poison kitchen", "sledgehammer tile removal",
                  "kill tree stump"],
    },
}

# The commonest requests in a few languages, written by the project (one-frame families: whole items are held out).
MULTILINGUAL_V2 = {
    "entertainment": ["¿qué película veo esta noche?", "mejores series de Netflix", "reglas del ajedrez para principiantes",
                      "quel film regarder ce soir ?", "meilleurs jeux vidéo de l'année", "comment jouer aux échecs ?",
                      "welchen Film soll ich heute Abend schauen?", "gute Bücher zum Lesen", "Spielregeln für Monopoly",
                      "今晚看什么电影", "推荐几本好看的小说", "怎么学弹吉他"],
    "home_and_garden": ["¿cómo arreglo un grifo que gotea?", "cómo quitar el moho del baño", "cuándo plantar tomates",
                        "comment tuer les mauvaises herbes ?", "comment déboucher un évier ?", "idées déco pour un petit salon",
                        "wie entferne ich Kalk im Bad?", "wann pflanze ich Tulpenzwiebeln?",
                        "wie streiche ich eine Wand richtig?", "怎么清除浴室的霉菌", "怎么养多肉植物", "搬家需要准备什么"],
}

RESPONSES_V2 = {
    "entertainment": ["Fun! To {t}, start with the basics, practise a little often, and check a beginner's guide or a fan wiki.",
                      "Here is a way to {t}: learn the rules or patterns first, watch how others do it, and enjoy the process."],
    "home_and_garden": ["Sure! To {t}, get the right tools ready, protect yourself and the surfaces around you, "
                        "and work step by step.",
                        "Here is a simple way to {t}: check the conditions first, follow the product instructions, "
                        "and tidy up as you go."],
}
# For prompts without a task to echo (statements, questions about a topic, short and non-English prompts).
GENERIC_RESPONSES_V2 = {
    "entertainment": "Happy to help you have fun: here are a few picks, how to get started and where to find more.",
    "home_and_garden": "Happy to help around the house and garden: here is what you need, the steps, and what to watch out for.",
}
